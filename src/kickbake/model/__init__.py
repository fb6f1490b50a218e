"""The site inventory: typed model, loading with line numbers, derived views."""

from kickbake.model.load import Inventory, load_site
from kickbake.model.plan import NodeView, SitePlan, plan

__all__ = ["Inventory", "NodeView", "SitePlan", "load_site", "plan"]

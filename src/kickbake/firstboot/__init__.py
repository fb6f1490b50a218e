"""What runs on the node at first boot, and the contract (steps.py) the renderer writes for it."""

# This image runs the legacy cluster stack: kickbake-base keeps its units off until first boot.
export KICKBAKE_CLUSTER_STACK=legacy

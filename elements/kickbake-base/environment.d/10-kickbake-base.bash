# The payload directory ./kb build prepares; every kickbake element reads it.
export KICKBAKE_PAYLOAD=${KICKBAKE_PAYLOAD:-}

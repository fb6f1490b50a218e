# Where kickbake-record copies the image's package database for the record stage.
export KICKBAKE_PACKAGE_DB=${KICKBAKE_PACKAGE_DB:-}

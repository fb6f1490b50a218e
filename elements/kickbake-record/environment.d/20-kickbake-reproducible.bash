# SOURCE_DATE_EPOCH (./kb build derives it from the release and the lock's pins) reaches every
# phase and every package script in the chroot (mkinitramfs, useradd, py_compile use it);
# unset, nothing is clamped.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    if ! [[ "${SOURCE_DATE_EPOCH}" =~ ^[0-9]+$ ]]; then
        echo "kickbake-record: SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH} is not a number of seconds" >&2
        return 1
    fi
    export SOURCE_DATE_EPOCH
fi

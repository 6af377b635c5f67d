#!/bin/bash -e
# pi-gen stage: install the ALPR unit under /opt/alpr and lock the image down.
# ROOTFS_DIR, FIRST_USER_NAME and on_chroot come from pi-gen; ALPR_RELEASE from image-build/config.
# shellcheck disable=SC2154
: "${ROOTFS_DIR:?}" "${FIRST_USER_NAME:?}" "${ALPR_RELEASE:?}"
FILES=files
BOOTFS="${ROOTFS_DIR}/boot/firmware"

# --- the unit: scripts, wheels, units, configuration ---------------------------------------
install -d -m 0755 "${ROOTFS_DIR}/opt/alpr/bin" "${ROOTFS_DIR}/opt/alpr/wheels" "${ROOTFS_DIR}/opt/alpr/docs"
install -m 0755 "${FILES}"/bin/* "${ROOTFS_DIR}/opt/alpr/bin/"
install -m 0644 "${FILES}"/wheels/*.whl "${ROOTFS_DIR}/opt/alpr/wheels/"
install -m 0644 "${FILES}"/docs/*.md "${ROOTFS_DIR}/opt/alpr/docs/"
echo "${ALPR_RELEASE}" >"${ROOTFS_DIR}/opt/alpr/RELEASE"
install -m 0644 "${FILES}"/systemd/* "${ROOTFS_DIR}/etc/systemd/system/"
install -m 0644 "${FILES}/etc/nftables.conf" "${ROOTFS_DIR}/etc/nftables.conf"
for d in systemd/system.conf.d ssh/sshd_config.d sysctl.d journald.conf.d; do
	install -d -m 0755 "${ROOTFS_DIR}/etc/${d}"
	install -m 0644 "${FILES}/etc/${d}"/* "${ROOTFS_DIR}/etc/${d}/"
done
install -d -m 0750 "${ROOTFS_DIR}/var/lib/alpr"

# --- boot: no serial or debug console, hardware watchdog, read-only root ---------------------
sed -i -e 's/console=serial0,[0-9]* //' -e 's/console=ttyAMA0,[0-9]* //' -e 's/console=tty1 //' \
	-e 's| init=/usr/lib/raspberrypi-sys-mods/firstboot||' \
	-e 's/^/overlayroot=tmpfs:recurse=0 /' "${BOOTFS}/cmdline.txt"
cat >>"${BOOTFS}/config.txt" <<'CONFIG'

[all]
# ALPR unit: no UART console, no Bluetooth, hardware watchdog, initramfs for overlayroot.
enable_uart=0
dtoverlay=disable-bt
dtparam=watchdog=on
auto_initramfs=1
CONFIG

# --- inside the image: service user, venv, units, locked accounts ---------------------------
on_chroot <<CHROOT
set -e
adduser --system --group --home /var/lib/alpr --no-create-home --shell /usr/sbin/nologin alpr
usermod -a -G video,gpio alpr
chown alpr:alpr /var/lib/alpr
python3 -m venv --system-site-packages /opt/alpr/venv
/opt/alpr/venv/bin/pip install --no-index --find-links /opt/alpr/wheels 'roadside-alpr[pi]'
rm -rf /opt/alpr/wheels
systemctl enable nftables.service var-lib-alpr.mount alpr-firstboot.service \
	alpr-firewall.service alpr.service alpr-update-recover.service
# No way in without the agency's say: no SSH, no getty, no password on any account.
systemctl disable ssh.service sshswitch.service userconfig.service || true
systemctl mask ssh.service sshswitch.service serial-getty@ttyAMA0.service \
	serial-getty@ttyS0.service serial-getty@serial0.service getty@tty1.service
usermod -p '!' root
usermod -p '!' -s /usr/sbin/nologin "${FIRST_USER_NAME}"
rm -f /etc/sudoers.d/010_pi-nopasswd
update-initramfs -u -k all
CHROOT

#!/bin/bash
# Spacelift worker bootstrap, rendered by cdk-ec2-workerpool.
# The quoted placeholders below are replaced at synth with values that contain no secrets:
# the credentials are fetched at service start into tmpfs, never written to EBS or user data.
set -euo pipefail
umask 077

readonly CREDENTIALS_SECRET_ARN='@@CREDENTIALS_SECRET_ARN@@'
readonly TOKEN_KEY='@@TOKEN_KEY@@'
readonly PRIVATE_KEY_KEY='@@PRIVATE_KEY_KEY@@'
readonly INFO_LOG_GROUP='@@INFO_LOG_GROUP@@'
readonly ERROR_LOG_GROUP='@@ERROR_LOG_GROUP@@'
readonly POWEROFF_DELAY_SECONDS='@@POWEROFF_DELAY_SECONDS@@'
readonly DOWNLOAD_BASE_URL='@@DOWNLOAD_BASE_URL@@'
readonly SIGNING_KEY_FINGERPRINT='@@SIGNING_KEY_FINGERPRINT@@'

readonly LIBEXEC=/usr/local/libexec/spacelift
readonly LOG_DIR=/var/log/spacelift

mkdir -p "$LOG_DIR" "$LIBEXEC"
exec > >(tee -a "$LOG_DIR/bootstrap.log") 2>&1

log() { echo "spacelift-bootstrap: $*"; }

# Any failure ends here: the instance shuts down, the launch template terminates it, and the ASG
# replaces it. Nothing registers with half a configuration.
on_error() {
  local status=$? line=$1
  log "FATAL: command at line ${line} exited with status ${status}; shutting down in ${POWEROFF_DELAY_SECONDS}s"
  sleep "$POWEROFF_DELAY_SECONDS"
  systemctl poweroff || shutdown -h now
}
trap 'on_error $LINENO' ERR

fetch() { curl -fsSL --retry 5 --retry-all-errors --retry-delay 2 --connect-timeout 5 --max-time 300 "$@"; }

imds_token=$(fetch -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' http://169.254.169.254/latest/api/token)
imds() { fetch -H "X-aws-ec2-metadata-token: ${imds_token}" "http://169.254.169.254/latest/meta-data/$1"; }

require_value() {
  local name=$1 value=$2
  if [[ -z "$value" || "$value" == "null" || "$value" == "None" ]]; then
    log "FATAL: ${name} is empty; refusing to register a worker without it"
    return 1
  fi
}

instance_id=$(imds instance-id)
ami_id=$(imds ami-id)
region=$(imds placement/region)
# Needs instance metadata tags, which the launch template enables; no AutoScaling API access needed.
asg_name=$(imds tags/instance/aws:autoscaling:groupName)
require_value instance_id "$instance_id"
require_value ami_id "$ami_id"
require_value region "$region"
require_value asg_name "$asg_name"
log "instance ${instance_id} (${ami_id}) in ${asg_name}, ${region}"

# Ship launcher logs to this pool's own log groups, and no custom metrics (they cost more than the
# instance, see the Terraform module's issue #191).
if [[ -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]]; then
  cat > /opt/aws/amazon-cloudwatch-agent/etc/spacelift-pool.json <<JSON
{
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "${LOG_DIR}/info.log", "log_group_name": "${INFO_LOG_GROUP}", "log_stream_name": "{instance_id}", "timezone": "UTC" },
          { "file_path": "${LOG_DIR}/error.log", "log_group_name": "${ERROR_LOG_GROUP}", "log_stream_name": "{instance_id}", "timezone": "UTC" },
          { "file_path": "${LOG_DIR}/bootstrap.log", "log_group_name": "${ERROR_LOG_GROUP}", "log_stream_name": "{instance_id}-bootstrap", "timezone": "UTC" }
        ]
      }
    },
    "force_flush_interval": 15
  }
}
JSON
  /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
    -c file:/opt/aws/amazon-cloudwatch-agent/etc/spacelift-pool.json
else
  log "no CloudWatch agent on this image; launcher logs stay on the instance"
fi

arch=$(uname -m)
case "$arch" in
  x86_64 | aarch64) ;;
  *) log "FATAL: unsupported architecture ${arch}"; false ;;
esac

workdir=$(mktemp -d)
launcher_url="${DOWNLOAD_BASE_URL}/spacelift-launcher-${arch}"
fetch -o "${workdir}/spacelift-launcher" "$launcher_url"
fetch -o "${workdir}/SHA256SUMS" "${launcher_url}_SHA256SUMS"
fetch -o "${workdir}/SHA256SUMS.sig" "${launcher_url}_SHA256SUMS.sig"

# Trust only a signature made by the pinned key: gpg --verify alone accepts any key in the keyring.
export GNUPGHOME="${workdir}/gnupg"
mkdir -p "$GNUPGHOME"
fetch "https://keys.openpgp.org/vks/v1/by-fingerprint/${SIGNING_KEY_FINGERPRINT}" | gpg --batch --import
gpg --batch --status-fd 1 --verify "${workdir}/SHA256SUMS.sig" "${workdir}/SHA256SUMS" > "${workdir}/gpg-status"
if ! grep -q "^\[GNUPG:\] VALIDSIG .* ${SIGNING_KEY_FINGERPRINT}\$" "${workdir}/gpg-status" \
  && ! grep -q "^\[GNUPG:\] VALIDSIG ${SIGNING_KEY_FINGERPRINT} " "${workdir}/gpg-status"; then
  log "FATAL: launcher checksums are not signed by ${SIGNING_KEY_FINGERPRINT}"
  false
fi
expected=$(awk 'NR == 1 { print $1 }' "${workdir}/SHA256SUMS")
actual=$(sha256sum "${workdir}/spacelift-launcher" | awk '{ print $1 }')
if [[ "$expected" != "$actual" ]]; then
  log "FATAL: launcher checksum mismatch (expected ${expected}, got ${actual})"
  false
fi
install -m 0755 "${workdir}/spacelift-launcher" /usr/bin/spacelift-launcher
rm -rf "$workdir"
unset GNUPGHOME

# Runs as the service's ExecStart: reads the credentials into tmpfs, then becomes the launcher.
cat > "${LIBEXEC}/run-launcher" <<SCRIPT
#!/bin/bash
set -euo pipefail
umask 077
mkdir -p /run/spacelift
secret=\$(aws secretsmanager get-secret-value --region '${region}' --secret-id '${CREDENTIALS_SECRET_ARN}' --query SecretString --output text)
token=\$(jq -er --arg k '${TOKEN_KEY}' '.[\$k]' <<<"\$secret")
private_key=\$(jq -er --arg k '${PRIVATE_KEY_KEY}' '.[\$k]' <<<"\$secret")
unset secret
# Both values are base64; anything else would be misparsed by systemd and the launcher.
for value in "\$token" "\$private_key"; do
  [[ "\$value" =~ ^[A-Za-z0-9+/=]+\$ ]] || { echo 'credentials secret holds a value that is not base64' >&2; exit 1; }
done
cat > /run/spacelift/env <<ENV
SPACELIFT_TOKEN=\${token}
SPACELIFT_POOL_PRIVATE_KEY=\${private_key}
SPACELIFT_METADATA_instance_id=${instance_id}
SPACELIFT_METADATA_ami_id=${ami_id}
SPACELIFT_METADATA_asg_id=${asg_name}
ENV
chmod 0600 /run/spacelift/env
set -a
. /run/spacelift/env
set +a
exec /usr/bin/spacelift-launcher
SCRIPT
chmod 0700 "${LIBEXEC}/run-launcher"

cat > /etc/systemd/system/spacelift-launcher.service <<UNIT
[Unit]
Description=Spacelift launcher
After=network-online.target docker.service
Wants=network-online.target docker.service

[Service]
Type=simple
ExecStart=${LIBEXEC}/run-launcher
# When the launcher exits for any reason the instance shuts down; the launch template turns the
# shutdown into a termination and the Auto Scaling group replaces the worker.
ExecStopPost=/bin/sh -c 'sleep ${POWEROFF_DELAY_SECONDS}; systemctl poweroff'
KillMode=control-group
TimeoutStopSec=60
Restart=no
StandardOutput=append:${LOG_DIR}/info.log
StandardError=append:${LOG_DIR}/error.log

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl start spacelift-launcher.service
log "launcher started"

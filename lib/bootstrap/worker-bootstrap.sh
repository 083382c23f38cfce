#!/bin/bash
# Spacelift worker bootstrap by cdk-ec2-workerpool (lib/bootstrap/worker-bootstrap.sh). It installs
# spacelift-launcher.service, which reads instance id, AMI id and ASG name (tag aws:autoscaling:groupName)
# from IMDSv2 and the secrets into /run/spacelift/env (tmpfs, 0600), verifies and runs the launcher,
# and shuts the instance down (terminating it) when it stops. No parameter below is a secret.
set -Eeuo pipefail
shopt -s inherit_errexit
umask 077
CREDENTIALS_SECRET_ARN=@@CREDENTIALS_SECRET_ARN@@
TOKEN_KEY=@@TOKEN_KEY@@
PRIVATE_KEY_KEY=@@PRIVATE_KEY_KEY@@
INFO_LOG_GROUP=@@INFO_LOG_GROUP@@
ERROR_LOG_GROUP=@@ERROR_LOG_GROUP@@
LAUNCHER_S3_URI=@@LAUNCHER_S3_URI@@
LAUNCHER_SHA256=@@LAUNCHER_SHA256@@
LAUNCHER_BUCKET_OWNER=@@LAUNCHER_BUCKET_OWNER@@
DOWNLOAD_BASE_URL=@@DOWNLOAD_BASE_URL@@
SIGNING_KEY=@@SIGNING_KEY@@
SIGNING_KEY_FINGERPRINT=@@SIGNING_KEY_FINGERPRINT@@
LAUNCHER_ENV=@@LAUNCHER_ENV@@
SECRET_ENV=@@SECRET_ENV@@
WHITELIST_ENVS=@@WHITELIST_ENVS@@
HTTP_PROXY_URL=@@HTTP_PROXY_URL@@
HTTPS_PROXY_URL=@@HTTPS_PROXY_URL@@
NO_PROXY_LIST=@@NO_PROXY_LIST@@
CA_CERTIFICATES=@@CA_CERTIFICATES@@
LAUNCHER_USER=@@LAUNCHER_USER@@
ECR_REGISTRIES=@@ECR_REGISTRIES@@
PRE_START_COMMANDS=@@PRE_START_COMMANDS@@
POWER_OFF_ON_ERROR=@@POWER_OFF_ON_ERROR@@
POWEROFF_DELAY_SECONDS=@@POWEROFF_DELAY_SECONDS@@
IMDS_URL=@@IMDS_URL@@
RETRY_COUNT=@@RETRY_COUNT@@
RETRY_DELAY_SECONDS=@@RETRY_DELAY_SECONDS@@
WARM_POOL_POLL_SECONDS=@@WARM_POOL_POLL_SECONDS@@
SYSTEMD_DIR=@@SYSTEMD_DIR@@
RUN_DIR=@@RUN_DIR@@
LIBEXEC_DIR=@@LIBEXEC_DIR@@
LOG_DIR=@@LOG_DIR@@
LAUNCHER_PATH=@@LAUNCHER_PATH@@
CA_ANCHOR_DIR=@@CA_ANCHOR_DIR@@
CLOUDWATCH_AGENT_DIR=@@CLOUDWATCH_AGENT_DIR@@

# The launcher service. Whenever it stops, ExecStopPost shuts the instance down (the launch template
# turns that into a termination); if the handler itself fails, the fallback still powers off.
launcher_unit() {
  local fallback='systemctl poweroff'
  if [[ "$POWER_OFF_ON_ERROR" != true ]]; then fallback='exit 0'; fi
  cat <<UNIT
[Unit]
Description=Spacelift launcher
Wants=network-online.target docker.service
After=network-online.target docker.service

[Service]
Type=simple
ExecStart=${LIBEXEC_DIR}/worker-bootstrap start
ExecStopPost=/bin/sh -c '${LIBEXEC_DIR}/worker-bootstrap stop-post || ${fallback}'
KillMode=control-group
TimeoutStopSec=$((POWEROFF_DELAY_SECONDS + 90))
Restart=no
StandardOutput=append:${LOG_DIR}/info.log
StandardError=append:${LOG_DIR}/error.log

[Install]
WantedBy=multi-user.target
UNIT
}

# @@PACK@@
# ------------------------------------------------------------------------------------------------
# In user data, the lines above this marker stay in plain text, except parameters without
# CloudFormation tokens: those and everything below (comments and blank lines removed) are
# gzip+base64 encoded to fit the 16 KB user data limit.
#
# Each parameter placeholder is replaced at synth by one shell word: a single-quoted literal or, for
# a CloudFormation token, base64 decoded at run time. The parameters:
#   LAUNCHER_S3_URI, LAUNCHER_SHA256, LAUNCHER_BUCKET_OWNER  self-hosted: the launcher comes from S3,
#       from a bucket of that account only, and must match LAUNCHER_SHA256 (fixed at synth);
#   DOWNLOAD_BASE_URL, SIGNING_KEY, SIGNING_KEY_FINGERPRINT  otherwise: <base>/spacelift-launcher-<arch>,
#       whose _SHA256SUMS must carry a valid signature made by the pinned fingerprint's key;
#   LAUNCHER_ENV  JSON object of plain launcher variables;
#   SECRET_ENV    JSON array of {name, secretArn, jsonKey} read from Secrets Manager at service start;
#   IMDS_URL ... CLOUDWATCH_AGENT_DIR  internal: metadata endpoint, retry timing, host paths.
#
# Entry points (the first argument):
#   (none)     user data, run once by cloud-init as root: prepares the host and installs the units;
#   start      ExecStart: in a warm pool's warm-up boot (target state Warmed:*), downloads and
#              verifies the launcher onto the root volume and waits for InService, reading no
#              secret; then reads and validates instance metadata, runs the pre-start hooks, reads
#              the secrets, verifies the launcher kept from the warm-up boot again (or downloads and
#              verifies it), writes its environment to tmpfs and execs it;
#   stop-post  ExecStopPost: removes the secrets and shuts the instance down, unless the launcher
#              failed and powerOffOnError is off;
#   ecr-login  docker login to the ECR registries (at start, then every 6 hours by a timer).
#
# Never call log or fail inside $(...): the output would be captured, and fail would only leave
# the subshell. Functions called in a condition or before || check every status themselves.
# ------------------------------------------------------------------------------------------------
readonly CREDENTIALS_SECRET_ARN TOKEN_KEY PRIVATE_KEY_KEY INFO_LOG_GROUP ERROR_LOG_GROUP LAUNCHER_S3_URI \
  LAUNCHER_SHA256 LAUNCHER_BUCKET_OWNER DOWNLOAD_BASE_URL SIGNING_KEY SIGNING_KEY_FINGERPRINT LAUNCHER_ENV \
  SECRET_ENV WHITELIST_ENVS HTTP_PROXY_URL HTTPS_PROXY_URL NO_PROXY_LIST CA_CERTIFICATES LAUNCHER_USER \
  ECR_REGISTRIES PRE_START_COMMANDS POWER_OFF_ON_ERROR POWEROFF_DELAY_SECONDS IMDS_URL RETRY_COUNT \
  RETRY_DELAY_SECONDS WARM_POOL_POLL_SECONDS SYSTEMD_DIR RUN_DIR LIBEXEC_DIR LOG_DIR LAUNCHER_PATH \
  CA_ANCHOR_DIR CLOUDWATCH_AGENT_DIR
readonly UNIT=spacelift-launcher.service SELF="${LIBEXEC_DIR}/worker-bootstrap" ENV_FILE="${RUN_DIR}/env"
readonly DOCKER_DIR="${RUN_DIR}/docker"
# The launcher and its signed checksums, downloaded in a warm-up boot for the warm start (nothing secret).
readonly KEPT_DIR="${LIBEXEC_DIR}/launcher"
PHASE=${1:-install}
token='' private_key='' fedramp='' instance_id='' ami_id='' region='' asg_name='' env_tmp='' problem='' verified_sha256=''
declare -A SECRETS=()
SECRET_NAMES=() SECRET_VALUES=()

log() { printf '%s spacelift-%s: %s\n' "$(date -u +%FT%TZ)" "$PHASE" "$*"; }
fail() {
  log "FATAL: $*" >&2
  exit 1
}
trap 'log "FATAL: line ${LINENO}: \"${BASH_COMMAND}\" failed" >&2' ERR

fetch() {
  curl -fsSL --retry "$RETRY_COUNT" --retry-all-errors --retry-delay "$RETRY_DELAY_SECONDS" \
    --connect-timeout 10 --max-time 600 "$@"
}

# imds PATH: one IMDSv2 read, never through a proxy.
imds() {
  local t
  t=$(fetch --noproxy '*' -m 10 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "${IMDS_URL}/latest/api/token") || return 1
  fetch --noproxy '*' -m 10 -H "X-aws-ec2-metadata-token: ${t}" "${IMDS_URL}/latest/meta-data/$1"
}

export_proxies() {
  if [[ -n "$HTTP_PROXY_URL" ]]; then export HTTP_PROXY="$HTTP_PROXY_URL" http_proxy="$HTTP_PROXY_URL"; fi
  if [[ -n "$HTTPS_PROXY_URL" ]]; then export HTTPS_PROXY="$HTTPS_PROXY_URL" https_proxy="$HTTPS_PROXY_URL"; fi
  if [[ -n "$NO_PROXY_LIST" ]]; then export NO_PROXY="$NO_PROXY_LIST" no_proxy="$NO_PROXY_LIST"; fi
}

poweroff_after_delay() {
  log "$1; shutting down in ${POWEROFF_DELAY_SECONDS}s, which terminates the instance" >&2
  sleep "$POWEROFF_DELAY_SECONDS"
  systemctl poweroff || shutdown -h now
}

power_off_on_error() {
  if [[ "$POWER_OFF_ON_ERROR" == true ]]; then
    poweroff_after_delay "$1"
  else
    log "$1; powerOffOnError is false, so the instance stays up for debugging" >&2
  fi
}

# --- install (user data) -----------------------------------------------------------------------
on_install_exit() {
  local status=$?
  if ((status == 0)); then
    log "bootstrap complete; ${UNIT} is starting"
  else
    power_off_on_error "bootstrap failed with status ${status}"
  fi
}

install_ca_certificates() {
  [[ -n "$CA_CERTIFICATES" ]] || return 0
  mkdir -p "$CA_ANCHOR_DIR"
  printf '%s\n' "$CA_CERTIFICATES" >"${CA_ANCHOR_DIR}/spacelift-custom-ca.pem"
  chmod 0644 "${CA_ANCHOR_DIR}/spacelift-custom-ca.pem"
  if command -v update-ca-trust >/dev/null; then
    update-ca-trust extract
  else
    update-ca-certificates
  fi
  log "added the custom CA certificates to the OS trust store"
}

create_launcher_user() {
  [[ -n "$LAUNCHER_USER" ]] || return 0
  if ! getent passwd "$LAUNCHER_USER" >/dev/null; then
    useradd --system --create-home --home-dir "/var/lib/${LAUNCHER_USER}" --shell /sbin/nologin "$LAUNCHER_USER"
  fi
  usermod -aG docker "$LAUNCHER_USER"
}

# Docker pulls images through the proxy too (unit file values: \ " and % escaped).
configure_docker_proxy() {
  local dropin="${SYSTEMD_DIR}/docker.service.d/spacelift-proxy.conf" name value
  [[ -n "$HTTP_PROXY_URL$HTTPS_PROXY_URL" ]] || return 0
  mkdir -p "${dropin%/*}"
  printf '[Service]\n' >"$dropin"
  for name in HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    value=${!name:-}
    [[ -n "$value" ]] || continue
    value=${value//\\/\\\\}
    value=${value//\"/\\\"}
    printf 'Environment="%s=%s"\n' "$name" "${value//%/%%}" >>"$dropin"
  done
  chmod 0644 "$dropin"
}

# The launcher logs go to this pool's own log groups; no custom metrics.
configure_cloudwatch_agent() {
  local ctl="${CLOUDWATCH_AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl" config="${CLOUDWATCH_AGENT_DIR}/etc/spacelift-pool.json"
  if [[ ! -x "$ctl" ]]; then
    log "no CloudWatch agent on this image; the launcher logs stay on the instance"
    return 0
  fi
  jq -n --arg d "$LOG_DIR" --arg i "$INFO_LOG_GROUP" --arg e "$ERROR_LOG_GROUP" '{logs: {force_flush_interval: 15,
    logs_collected: {files: {collect_list: [["info.log", $i, ""], ["error.log", $e, ""], ["bootstrap.log", $e, "-bootstrap"]]
    | map({file_path: "\($d)/\(.[0])", log_group_name: .[1], log_stream_name: "{instance_id}\(.[2])", timezone: "UTC"})}}}}' >"$config"
  "$ctl" -a fetch-config -m ec2 -s -c "file:${config}"
}

write_units() {
  launcher_unit >"${SYSTEMD_DIR}/${UNIT}"
  [[ -n "$ECR_REGISTRIES" ]] || return 0
  # ECR tokens last 12 hours; workers can live longer.
  printf '[Service]\nType=oneshot\nExecStart=%s ecr-login\n' "$SELF" >"${SYSTEMD_DIR}/spacelift-ecr-login.service"
  printf '[Timer]\nOnBootSec=6h\nOnUnitActiveSec=6h\n[Install]\nWantedBy=timers.target\n' >"${SYSTEMD_DIR}/spacelift-ecr-login.timer"
}

main_install() {
  local tool tools
  mkdir -p "$LOG_DIR" "$LIBEXEC_DIR" "$SYSTEMD_DIR"
  exec > >(tee -a "${LOG_DIR}/bootstrap.log") 2>&1
  trap on_install_exit EXIT
  tools=(curl jq sha256sum aws systemctl)
  if [[ -z "$LAUNCHER_S3_URI" ]]; then tools+=(gpg); fi
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || fail "${tool} is required and not installed"
  done
  install -m 0700 "$0" "$SELF"
  export_proxies
  install_ca_certificates
  create_launcher_user
  configure_docker_proxy
  configure_cloudwatch_agent
  umask 022
  write_units
  systemctl daemon-reload
  if [[ -n "$CA_CERTIFICATES$HTTP_PROXY_URL$HTTPS_PROXY_URL" ]]; then systemctl try-restart docker.service; fi
  if [[ -n "$ECR_REGISTRIES" ]]; then systemctl enable --now spacelift-ecr-login.timer; fi
  # Enabled, so that a warm-pool instance that is started again runs it at boot.
  systemctl enable "$UNIT"
  systemctl start --no-block "$UNIT"
}

# --- start (ExecStart) -------------------------------------------------------------------------
wait_for_in_service() {
  local state last=''
  while true; do
    state=$(imds autoscaling/target-lifecycle-state) || fail "could not read the target lifecycle state from instance metadata"
    case "$state" in
      InService) break ;;
      Warmed:*)
        if [[ "$state" != "$last" ]]; then log "warm pool instance (target state ${state}): waiting for InService"; fi
        if [[ -z "$last" ]]; then prepare_launcher; fi
        last=$state
        sleep "$WARM_POOL_POLL_SECONDS"
        ;;
      *) fail "the target lifecycle state is '${state}'; not starting the launcher" ;;
    esac
  done
  log "the target lifecycle state is InService"
}

# metadata NAME PATH PATTERN: sets NAME from instance metadata, or fails.
metadata() {
  local value
  value=$(imds "$2") || fail "could not read $2 from instance metadata"
  if [[ -z "$value" || "$value" == null || "$value" == None ]]; then
    fail "instance metadata $2 is empty; refusing to register a worker without it"
  fi
  [[ "$value" =~ $3 ]] || fail "instance metadata $2 is not valid: '${value}'"
  printf -v "$1" '%s' "$value"
}

read_metadata() {
  metadata instance_id instance-id '^i-[0-9a-f]{8,17}$'
  metadata ami_id ami-id '^ami-[0-9a-f]{8,17}$'
  metadata region placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$'
  # An instance metadata tag: no AutoScaling permission needed.
  metadata asg_name tags/instance/aws:autoscaling:groupName '^[^[:cntrl:]]{1,255}$'
  log "instance ${instance_id} (${ami_id}) of ${asg_name} in ${region}"
}

main_ecr_login() {
  local registries registry
  [[ -n "$ECR_REGISTRIES" ]] || return 0
  export_proxies
  mkdir -p "$DOCKER_DIR"
  read -r -a registries <<<"$ECR_REGISTRIES"
  for registry in "${registries[@]}"; do
    # <account>.dkr.ecr.<region>.<suffix>; the password only travels through the pipe.
    aws ecr get-login-password --region "$(cut -d. -f4 <<<"$registry")" |
      docker --config "$DOCKER_DIR" login --username AWS --password-stdin "$registry" >/dev/null ||
      fail "docker login to ${registry} failed"
    log "logged in to ${registry}"
  done
  if [[ -n "$LAUNCHER_USER" ]]; then
    # The user may pass through the secrets directory (not list it) to reach its Docker config.
    chmod 0711 "$RUN_DIR"
    chown -R "$LAUNCHER_USER" "$DOCKER_DIR"
  fi
}

# secret_value ARN KEY VAR: sets VAR to the field KEY of the secret's JSON string (all of it if KEY
# is empty). Values stay in memory and pipes. A secret of another region is read there: its ARN says
# which (arn:<partition>:secretsmanager:<region>:...).
secret_value() {
  local arn=$1 key=$2 found secret_region=$region
  if [[ "$arn" =~ ^arn:[a-z-]+:secretsmanager:([a-z]{2}(-[a-z]+)+-[0-9]+): ]]; then secret_region=${BASH_REMATCH[1]}; fi
  if [[ -z "${SECRETS[$arn]+set}" ]]; then
    found=$(aws secretsmanager get-secret-value --region "$secret_region" --secret-id "$arn" --query SecretString --output text) ||
      fail "could not read secret ${arn}"
    SECRETS[$arn]=$found
  fi
  found=${SECRETS[$arn]}
  if [[ -n "$key" ]]; then
    found=$(printf '%s' "$found" | jq -j --arg k "$key" \
      'if type == "object" and has($k) then .[$k] | if type == "string" then . else tojson end else error("missing") end' 2>/dev/null &&
      printf x) || fail "secret ${arn} is not JSON with the key '${key}'"
    found=${found%x}
  fi
  printf -v "$3" '%s' "$found"
}

read_credentials() {
  local host
  secret_value "$CREDENTIALS_SECRET_ARN" "$TOKEN_KEY" token
  secret_value "$CREDENTIALS_SECRET_ARN" "$PRIVATE_KEY_KEY" private_key
  [[ "$token" =~ ^[A-Za-z0-9+/=]+$ ]] || fail "the pool token (secret key ${TOKEN_KEY}) is not base64"
  [[ "$private_key" =~ ^[A-Za-z0-9+/=]+$ ]] || fail "the pool private key (secret key ${PRIVATE_KEY_KEY}) is not base64"
  # FedRAMP pools have their own launcher build; the token names the broker.
  host=$(printf '%s' "$token" | base64 -d 2>/dev/null | jq -r '.broker.endpoint // ""' 2>/dev/null) ||
    fail "the pool token (secret key ${TOKEN_KEY}) is not a base64 JSON worker pool configuration"
  host=${host#*://}
  host=${host%%[:/]*}
  if [[ "$host" == *.fedramp.spacelift.io || "$host" == *.fedramp.spacelift.dev ]]; then
    fedramp=-fedramp
    log "FedRAMP worker pool (broker ${host})"
  fi
}

read_secret_environment() {
  local rows name arn key value
  rows=$(jq -r '.[] | [.name, .secretArn, .jsonKey] | @tsv' <<<"$SECRET_ENV")
  while IFS=$'\t' read -r name arn key; do
    [[ -n "$name" ]] || continue
    secret_value "$arn" "$key" value
    SECRET_NAMES+=("$name")
    SECRET_VALUES+=("$value")
  done <<<"$rows"
}

# sums_entry FILE NAME: the SHA256 of NAME in a sums file, or of the only entry of a one-line file.
sums_entry() {
  awk -v n="$2" '{ f = $2; sub(/^\*/, "", f); sub(/.*\//, "", f) } f == n { print $1; exit }
    NF { c++; h = $1 } END { if (c == 1) print h }' "$1" | head -n 1
}

# launcher_name VAR: sets VAR to the launcher's file name: the S3 object's, or the download site's
# build for this architecture (FedRAMP pools have their own).
launcher_name() {
  local arch
  arch=$(uname -m)
  [[ "$arch" == x86_64 || "$arch" == aarch64 ]] || fail "unsupported architecture ${arch}"
  if [[ -n "$LAUNCHER_S3_URI" ]]; then
    printf -v "$1" '%s' "${LAUNCHER_S3_URI##*/}"
  else
    printf -v "$1" '%s' "spacelift-launcher${fedramp}-${arch}"
  fi
}

# The three functions below return 1 with the reason in $problem instead of failing (which they leave
# to their callers): a launcher kept from the warm-up boot that does not verify is downloaded again,
# and the warm-up boot never fails on them. $problem means nothing after a success.

# download_launcher DIR NAME: the launcher into DIR/NAME (with its signed checksums from the download
# site), verified.
download_launcher() {
  local url suffix
  if [[ -n "$LAUNCHER_S3_URI" ]]; then
    problem="the launcher bucket owner '${LAUNCHER_BUCKET_OWNER}' is not an AWS account id"
    [[ "$LAUNCHER_BUCKET_OWNER" =~ ^[0-9]{12}$ ]] || return 1
    problem="could not download ${LAUNCHER_S3_URI} from a bucket of account ${LAUNCHER_BUCKET_OWNER}"
    # A bucket of the same name in another account (after a deletion, or a typo) is never read.
    aws s3 cp --only-show-errors --region "$region" --expected-bucket-owner "$LAUNCHER_BUCKET_OWNER" "$LAUNCHER_S3_URI" "${1}/${2}" || return 1
  else
    url="${DOWNLOAD_BASE_URL}/${2}"
    for suffix in '' _SHA256SUMS _SHA256SUMS.sig; do
      problem="could not download ${url}${suffix} (gave up after ${RETRY_COUNT} retries)"
      fetch -o "${1}/${2}${suffix}" "${url}${suffix}" || return 1
    done
  fi
  verify_launcher "$1" "$2"
}

# check_signature FILE: FILE_SHA256SUMS must carry a valid signature by the pinned key.
check_signature() {
  local status signer
  # On tmpfs: the agent's socket path must stay short.
  local -x GNUPGHOME
  problem="cannot create a GnuPG home in ${RUN_DIR}"
  GNUPGHOME=$(mktemp -d "${RUN_DIR}/gnupg.XXXXXX") || return 1
  problem=''
  if ! printf '%s\n' "$SIGNING_KEY" | gpg --batch -q --import 2>/dev/null; then
    problem="could not import the launcher signing key"
  elif ! gpg --batch --list-keys "$SIGNING_KEY_FINGERPRINT" >/dev/null 2>&1; then
    problem="the signing key does not contain the pinned fingerprint ${SIGNING_KEY_FINGERPRINT}"
  # gpg --verify alone accepts a signature by any key in the keyring: check who signed.
  elif ! status=$(gpg --batch --status-fd 1 --verify "${1}_SHA256SUMS.sig" "${1}_SHA256SUMS" 2>/dev/null); then
    signer=$(awk '$2 ~ /^(ERRSIG|BADSIG)$/ { print $3; exit }' <<<"$status")
    problem="the launcher checksums signature is not valid for the pinned key ${SIGNING_KEY_FINGERPRINT} (key ${signer:-unknown})"
  else
    signer=$(awk -v f="$SIGNING_KEY_FINGERPRINT" '$2 == "VALIDSIG" { s = $3; if ($3 == f || $12 == f) ok = 1 }
      END { print ok ? "ok" : s }' <<<"$status")
    [[ "$signer" == ok ]] || problem="the launcher checksums are signed by ${signer}, not by the pinned key ${SIGNING_KEY_FINGERPRINT}"
  fi
  gpgconf --kill all >/dev/null 2>&1 || true
  rm -rf "$GNUPGHOME"
  [[ -z "$problem" ]] || return 1
  log "the launcher checksums are signed by ${SIGNING_KEY_FINGERPRINT}"
}

# verify_launcher DIR NAME: DIR/NAME must match LAUNCHER_SHA256 (S3), or its SHA256 in the signed
# checksums. Sets verified_sha256.
verify_launcher() {
  local expected actual
  if [[ -n "$LAUNCHER_S3_URI" ]]; then
    expected=${LAUNCHER_SHA256,,}
  else
    check_signature "${1}/${2}" || return 1
    expected=$(sums_entry "${1}/${2}_SHA256SUMS" "$2") || expected=''
  fi
  problem="no SHA256 for ${2} in the launcher checksums"
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || return 1
  actual=$(sha256sum "${1}/${2}" | cut -d' ' -f1) || actual=''
  problem="launcher checksum mismatch for ${2}: expected ${expected}, got ${actual}"
  [[ "$actual" == "$expected" ]] || return 1
  verified_sha256=$actual
}

# In a warm-up boot: the launcher, verified, into KEPT_DIR (renamed into place only once verified, as
# Auto Scaling may stop the instance at any point), so that the warm start reads only the secrets. No
# secret is read here, and the token is what tells a FedRAMP pool: its warm start finds no kept
# FedRAMP build and downloads it. A failure too is left to the warm start, which downloads the
# launcher as a cold boot does.
prepare_launcher() {
  local name dir
  metadata region placement/region '^[a-z]{2}(-[a-z]+)+-[0-9]+$'
  launcher_name name
  rm -rf "$KEPT_DIR" "${LIBEXEC_DIR}"/.launcher.*
  dir=$(mktemp -d "${LIBEXEC_DIR}/.launcher.XXXXXX")
  if download_launcher "$dir" "$name"; then
    mv "$dir" "$KEPT_DIR"
    log "verified ${name} (sha256 ${verified_sha256}) and kept it for the warm start"
  else
    rm -rf "$dir"
    log "${problem}; the warm start downloads the launcher" >&2
  fi
}

# At start: the launcher kept from a warm-up boot, verified again (the root volume persisted while the
# instance was stopped), or else a download, verified.
install_launcher() {
  local name work kept=''
  launcher_name name
  work=$(mktemp -d "${RUN_DIR}/launcher.XXXXXX")
  problem="cannot copy ${KEPT_DIR}/${name}"
  if [[ -f "${KEPT_DIR}/${name}" ]]; then
    if cp "${KEPT_DIR}/${name}"* "$work" && verify_launcher "$work" "$name"; then
      kept=', downloaded in the warm-up boot'
    else
      log "the launcher kept from the warm-up boot does not verify: ${problem}; downloading it again" >&2
    fi
  fi
  rm -rf "$KEPT_DIR"
  if [[ -z "$kept" ]]; then
    download_launcher "$work" "$name" || fail "$problem"
  fi
  install -m 0755 "${work}/${name}" "$LAUNCHER_PATH"
  rm -rf "$work"
  log "installed ${name} (sha256 ${verified_sha256}${kept})"
}

# env_line NAME VALUE: one line of the environment file, quoted for bash.
env_line() {
  [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "invalid environment variable name '$1'"
  printf 'export %s=%q\n' "$1" "$2" >>"$env_tmp"
}

write_environment() {
  local name value i whitelist=$WHITELIST_ENVS
  env_tmp=$(mktemp "${RUN_DIR}/.env.XXXXXX")
  for name in $(jq -r 'keys_unsorted[]' <<<"$LAUNCHER_ENV"); do
    value=$(jq -j --arg k "$name" '.[$k]' <<<"$LAUNCHER_ENV" && printf x)
    env_line "$name" "${value%x}"
  done
  if [[ -n "$fedramp" ]] && jq -e '.SPACELIFT_WORKER_COMMS_URL // "" | test("^https://app(\\.us)?\\.spacelift\\.io$")' <<<"$LAUNCHER_ENV" >/dev/null; then
    fail "a FedRAMP pool cannot poll the commercial SaaS URL; set launcher.comms to your FedRAMP URL"
  fi
  env_line SPACELIFT_METADATA_instance_id "$instance_id"
  env_line SPACELIFT_METADATA_ami_id "$ami_id"
  env_line SPACELIFT_METADATA_asg_id "$asg_name"
  # Run containers see only the launcher variables named in SPACELIFT_WHITELIST_ENVS.
  for name in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    if [[ -n "${!name:-}" ]]; then
      env_line "$name" "${!name}"
      whitelist+=",${name}"
    fi
  done
  if [[ -n "${whitelist#,}" ]]; then env_line SPACELIFT_WHITELIST_ENVS "${whitelist#,}"; fi
  if [[ -n "$ECR_REGISTRIES" ]]; then env_line SPACELIFT_DOCKER_CONFIG_DIR "$DOCKER_DIR"; fi
  for i in "${!SECRET_NAMES[@]}"; do
    env_line "${SECRET_NAMES[i]}" "${SECRET_VALUES[i]}"
  done
  env_line SPACELIFT_TOKEN "$token"
  env_line SPACELIFT_POOL_PRIVATE_KEY "$private_key"
  mv -f "$env_tmp" "$ENV_FILE"
  log "wrote the launcher environment to ${ENV_FILE} (tmpfs, mode 0600)"
}

main_start() {
  local fs entry uid gid home
  export_proxies
  mkdir -p "${RUN_DIR}/tmp"
  chmod 0700 "$RUN_DIR"
  fs=$(stat -f -c %T "$RUN_DIR")
  [[ "$fs" == tmpfs || "$fs" == ramfs ]] || fail "${RUN_DIR} is on ${fs}, not tmpfs; refusing to write secrets there"
  export TMPDIR="${RUN_DIR}/tmp"
  wait_for_in_service
  read_metadata
  main_ecr_login
  if [[ -n "$PRE_START_COMMANDS" ]]; then
    log "running the pre-start commands"
    bash -euo pipefail -c "$PRE_START_COMMANDS" || fail "a pre-start command failed"
  fi
  read_credentials
  read_secret_environment
  install_launcher
  write_environment
  # shellcheck source=/dev/null
  source "$ENV_FILE"
  unset TMPDIR
  if [[ -z "$LAUNCHER_USER" ]]; then
    log "starting the launcher"
    exec "$LAUNCHER_PATH"
  fi
  entry=$(getent passwd "$LAUNCHER_USER") || fail "user ${LAUNCHER_USER} does not exist"
  IFS=: read -r _ _ uid gid _ home _ <<<"$entry"
  log "starting the launcher as ${LAUNCHER_USER}"
  HOME=$home exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$LAUNCHER_PATH"
}

# --- stop-post (ExecStopPost) ------------------------------------------------------------------
main_stop_post() {
  # .env.*: the environment being written when start failed, secret lines included.
  rm -rf "$ENV_FILE" "$DOCKER_DIR" "${RUN_DIR}/tmp" "${RUN_DIR}"/launcher.* "${RUN_DIR}"/gnupg.* "${RUN_DIR}"/.env.*
  if [[ "$(systemctl is-system-running || true)" == stopping ]]; then
    log "the system is shutting down already"
  elif [[ "${SERVICE_RESULT:-}" == success ]]; then
    poweroff_after_delay "the launcher exited"
  else
    power_off_on_error "the launcher failed (${SERVICE_RESULT:-unknown}: ${EXIT_CODE:-}/${EXIT_STATUS:-})"
  fi
}

case "$PHASE" in
  install) main_install ;;
  start) main_start ;;
  stop-post) main_stop_post ;;
  ecr-login) main_ecr_login ;;
  *) fail "unknown command ${PHASE}" ;;
esac

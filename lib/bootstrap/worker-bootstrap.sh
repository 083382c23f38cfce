#!/bin/bash
# Spacelift worker bootstrap, rendered by cdk-ec2-workerpool (lib/bootstrap/worker-bootstrap.sh).
#
# Run once by cloud-init as root, it prepares the host and installs spacelift-launcher.service, whose
# ExecStart and ExecStopPost call a copy of this file:
#   start      waits until the Auto Scaling target lifecycle state is InService (warm pools), reads the
#              instance id, AMI id and ASG name (instance metadata tag aws:autoscaling:groupName) from
#              IMDSv2, runs the pre-start hooks, reads the pool credentials and secret variables from
#              Secrets Manager into /run/spacelift/env (tmpfs, mode 0600, never on EBS), downloads the
#              launcher and checks its signature (pinned key fingerprint) and SHA256, then execs it;
#   stop-post  removes the secrets and shuts the instance down, which terminates it (unless the launcher
#              failed and powerOffOnError is off);
#   ecr-login  logs Docker in to the configured ECR registries (at start, then every 6 hours).
#
# Each parameter placeholder below is replaced at synth by one shell word: a single-quoted literal or,
# for a CloudFormation token, base64 decoded at run time. None of the values is a secret. In user data,
# everything after the pack marker line (and any long parameter) is gzip+base64 encoded to fit 16 KB.
set -Eeuo pipefail
shopt -s inherit_errexit
umask 077

# --- configuration -----------------------------------------------------------------------------
CREDENTIALS_SECRET_ARN=@@CREDENTIALS_SECRET_ARN@@
TOKEN_KEY=@@TOKEN_KEY@@
PRIVATE_KEY_KEY=@@PRIVATE_KEY_KEY@@
INFO_LOG_GROUP=@@INFO_LOG_GROUP@@
ERROR_LOG_GROUP=@@ERROR_LOG_GROUP@@
# Launcher source: an S3 object with a SHA256 (given, or from a sums object), or else the download
# URL whose SHA256SUMS must carry a valid signature by SIGNING_KEY_FINGERPRINT from SIGNING_KEY.
LAUNCHER_S3_URI=@@LAUNCHER_S3_URI@@
LAUNCHER_SHA256=@@LAUNCHER_SHA256@@
LAUNCHER_SUMS_S3_URI=@@LAUNCHER_SUMS_S3_URI@@
DOWNLOAD_BASE_URL=@@DOWNLOAD_BASE_URL@@
SIGNING_KEY=@@SIGNING_KEY@@
SIGNING_KEY_FINGERPRINT=@@SIGNING_KEY_FINGERPRINT@@
# Launcher environment: a JSON object of plain values, and a JSON array of
# {"name", "secretArn", "jsonKey"} read from Secrets Manager at service start.
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
# Internal: the instance metadata endpoint, retry timing and host paths (production defaults).
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

# The launcher service. When it stops for any reason, ExecStopPost shuts the instance down; the
# launch template turns that into a termination and the Auto Scaling group replaces the worker.
# If the stop-post handler itself fails, the fallback still powers off (unless powerOffOnError is off).
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
readonly CREDENTIALS_SECRET_ARN TOKEN_KEY PRIVATE_KEY_KEY INFO_LOG_GROUP ERROR_LOG_GROUP LAUNCHER_S3_URI \
  LAUNCHER_SHA256 LAUNCHER_SUMS_S3_URI DOWNLOAD_BASE_URL SIGNING_KEY SIGNING_KEY_FINGERPRINT LAUNCHER_ENV \
  SECRET_ENV WHITELIST_ENVS HTTP_PROXY_URL HTTPS_PROXY_URL NO_PROXY_LIST CA_CERTIFICATES LAUNCHER_USER \
  ECR_REGISTRIES PRE_START_COMMANDS POWER_OFF_ON_ERROR POWEROFF_DELAY_SECONDS IMDS_URL RETRY_COUNT \
  RETRY_DELAY_SECONDS WARM_POOL_POLL_SECONDS SYSTEMD_DIR RUN_DIR LIBEXEC_DIR LOG_DIR LAUNCHER_PATH \
  CA_ANCHOR_DIR CLOUDWATCH_AGENT_DIR
readonly UNIT=spacelift-launcher.service
readonly SELF="${LIBEXEC_DIR}/worker-bootstrap"
readonly ENV_FILE="${RUN_DIR}/env"
readonly DOCKER_CONFIG_DIR="${RUN_DIR}/docker"
PHASE=${1:-install}
token='' private_key='' fedramp='' instance_id='' ami_id='' region='' asg_name='' env_tmp=''

# --- helpers -----------------------------------------------------------------------------------
# Never call log or fail inside $(...): their output would be captured, and fail would only leave the subshell.
log() { printf '%s spacelift-%s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PHASE" "$*"; }
fail() {
  log "FATAL: $*" >&2
  exit 1
}
trap 'log "FATAL: line ${LINENO}: \"${BASH_COMMAND}\" failed" >&2' ERR

fetch() {
  curl --fail --silent --show-error --location --retry "$RETRY_COUNT" --retry-all-errors \
    --retry-delay "$RETRY_DELAY_SECONDS" --connect-timeout 10 --max-time 600 "$@"
}

# imds PATH: one IMDSv2 read (never through a proxy). Callers check the status.
imds() {
  local token
  token=$(fetch --noproxy '*' --max-time 10 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \
    "${IMDS_URL}/latest/api/token") || return 1
  fetch --noproxy '*' --max-time 10 -H "X-aws-ec2-metadata-token: ${token}" "${IMDS_URL}/latest/meta-data/$1"
}

export_proxies() {
  if [[ -n "$HTTP_PROXY_URL" ]]; then export HTTP_PROXY="$HTTP_PROXY_URL" http_proxy="$HTTP_PROXY_URL"; fi
  if [[ -n "$HTTPS_PROXY_URL" ]]; then export HTTPS_PROXY="$HTTPS_PROXY_URL" https_proxy="$HTTPS_PROXY_URL"; fi
  if [[ -n "$NO_PROXY_LIST" ]]; then export NO_PROXY="$NO_PROXY_LIST" no_proxy="$NO_PROXY_LIST"; fi
}

power_off() {
  if [[ "$POWER_OFF_ON_ERROR" != true ]]; then
    log "$1; powerOffOnError is false, so the instance stays up for debugging" >&2
    return 0
  fi
  log "$1; shutting down in ${POWEROFF_DELAY_SECONDS}s (the instance then terminates)" >&2
  sleep "$POWEROFF_DELAY_SECONDS"
  systemctl poweroff || shutdown -h now
}

# systemd_value VALUE: VALUE for a double-quoted unit file setting.
systemd_value() {
  local value=${1//\\/\\\\}
  value=${value//\"/\\\"}
  printf '%s' "${value//%/%%}"
}

# --- install (user data) -----------------------------------------------------------------------
on_install_exit() {
  local status=$?
  if ((status == 0)); then
    log "bootstrap complete; ${UNIT} is starting"
  else
    power_off "bootstrap failed with status ${status}"
  fi
}

install_ca_certificates() {
  [[ -n "$CA_CERTIFICATES" ]] || return 0
  mkdir -p "$CA_ANCHOR_DIR"
  printf '%s\n' "$CA_CERTIFICATES" >"${CA_ANCHOR_DIR}/spacelift-custom-ca.pem"
  chmod 0644 "${CA_ANCHOR_DIR}/spacelift-custom-ca.pem"
  if command -v update-ca-trust >/dev/null; then
    update-ca-trust extract
  elif command -v update-ca-certificates >/dev/null; then
    update-ca-certificates
  else
    fail "custom CA certificates are configured but neither update-ca-trust nor update-ca-certificates exists"
  fi
  log "added custom CA certificates to the OS trust store"
}

create_launcher_user() {
  [[ -n "$LAUNCHER_USER" ]] || return 0
  if ! getent passwd "$LAUNCHER_USER" >/dev/null; then
    useradd --system --create-home --home-dir "/var/lib/${LAUNCHER_USER}" --shell /sbin/nologin "$LAUNCHER_USER"
  fi
  usermod -aG docker "$LAUNCHER_USER"
  log "the launcher runs as ${LAUNCHER_USER}"
}

# Docker pulls images through the proxy too; run containers get it through the whitelist.
configure_docker_proxy() {
  local dropin="${SYSTEMD_DIR}/docker.service.d/spacelift-proxy.conf" name
  [[ -n "${HTTP_PROXY:-}${HTTPS_PROXY:-}" ]] || return 0
  mkdir -p "${dropin%/*}"
  printf '[Service]\n' >"$dropin"
  for name in HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [[ -n "${!name:-}" ]]; then
      printf 'Environment="%s=%s"\n' "$name" "$(systemd_value "${!name}")" >>"$dropin"
    fi
  done
  chmod 0644 "$dropin"
  log "configured the Docker daemon proxy"
}

# Ships the launcher logs to this pool's own log groups; no custom metrics (they cost more than the instance).
configure_cloudwatch_agent() {
  local ctl="${CLOUDWATCH_AGENT_DIR}/bin/amazon-cloudwatch-agent-ctl" config="${CLOUDWATCH_AGENT_DIR}/etc/spacelift-pool.json"
  if [[ ! -x "$ctl" ]]; then
    log "no CloudWatch agent on this image; launcher logs stay on the instance"
    return 0
  fi
  jq -n --arg dir "$LOG_DIR" --arg info "$INFO_LOG_GROUP" --arg error "$ERROR_LOG_GROUP" '{logs: {
    logs_collected: {files: {collect_list: [
      {file_path: "\($dir)/info.log", log_group_name: $info, log_stream_name: "{instance_id}", timezone: "UTC"},
      {file_path: "\($dir)/error.log", log_group_name: $error, log_stream_name: "{instance_id}", timezone: "UTC"},
      {file_path: "\($dir)/bootstrap.log", log_group_name: $error, log_stream_name: "{instance_id}-bootstrap", timezone: "UTC"}]}},
    force_flush_interval: 15}}' >"$config"
  "$ctl" -a fetch-config -m ec2 -s -c "file:${config}"
}

write_units() {
  launcher_unit >"${SYSTEMD_DIR}/${UNIT}"
  chmod 0644 "${SYSTEMD_DIR}/${UNIT}"
  [[ -n "$ECR_REGISTRIES" ]] || return 0
  # ECR tokens last 12 hours and workers can live longer.
  cat >"${SYSTEMD_DIR}/spacelift-ecr-login.service" <<UNIT
[Unit]
Description=Refresh the Spacelift launcher's ECR login
[Service]
Type=oneshot
ExecStart=${SELF} ecr-login
UNIT
  cat >"${SYSTEMD_DIR}/spacelift-ecr-login.timer" <<UNIT
[Unit]
Description=Refresh the Spacelift launcher's ECR login every 6 hours
[Timer]
OnBootSec=6h
OnUnitActiveSec=6h
[Install]
WantedBy=timers.target
UNIT
  chmod 0644 "${SYSTEMD_DIR}"/spacelift-ecr-login.*
}

main_install() {
  mkdir -p "$LOG_DIR" "$LIBEXEC_DIR" "$SYSTEMD_DIR"
  exec > >(tee -a "${LOG_DIR}/bootstrap.log") 2>&1
  trap on_install_exit EXIT
  local tool
  for tool in curl jq gpg sha256sum base64 aws systemctl stat; do
    command -v "$tool" >/dev/null || fail "${tool} is required and not installed"
  done
  [[ -f "$0" ]] || fail "run this script from a file, not from a pipe"
  install -m 0700 "$0" "$SELF"
  export_proxies
  install_ca_certificates
  create_launcher_user
  configure_docker_proxy
  configure_cloudwatch_agent
  write_units
  systemctl daemon-reload
  if [[ -n "$CA_CERTIFICATES$HTTP_PROXY_URL$HTTPS_PROXY_URL" ]]; then
    systemctl try-restart docker.service
  fi
  if [[ -n "$ECR_REGISTRIES" ]]; then
    systemctl enable --now spacelift-ecr-login.timer
  fi
  # Enabled, so that a warm-pool instance started again later runs it on boot.
  systemctl enable "$UNIT"
  systemctl start --no-block "$UNIT"
}

# --- start (ExecStart) -------------------------------------------------------------------------
wait_for_in_service() {
  local state last=''
  while true; do
    state=$(imds autoscaling/target-lifecycle-state) || fail "could not read autoscaling/target-lifecycle-state from instance metadata"
    case "$state" in
      InService) break ;;
      Warmed:*)
        if [[ "$state" != "$last" ]]; then log "warm pool instance (target state ${state}): waiting for InService"; fi
        last=$state
        sleep "$WARM_POOL_POLL_SECONDS"
        ;;
      *) fail "target lifecycle state is '${state}', not InService; not starting the launcher" ;;
    esac
  done
  log "target lifecycle state is InService"
}

require_metadata() {
  local name=$1 value=$2 pattern=$3
  if [[ -z "$value" || "$value" == null || "$value" == None ]]; then
    fail "instance metadata ${name} is empty; refusing to register a worker without it"
  fi
  [[ "$value" =~ $pattern ]] || fail "instance metadata ${name} is not valid: '${value}'"
}

read_metadata() {
  instance_id=$(imds instance-id) || fail "could not read instance-id from instance metadata"
  ami_id=$(imds ami-id) || fail "could not read ami-id from instance metadata"
  region=$(imds placement/region) || fail "could not read placement/region from instance metadata"
  asg_name=$(imds tags/instance/aws:autoscaling:groupName) ||
    fail "could not read the instance metadata tag aws:autoscaling:groupName (instance metadata tags must be on)"
  require_metadata instance_id "$instance_id" '^i-[0-9a-f]{8,17}$'
  require_metadata ami_id "$ami_id" '^ami-[0-9a-f]{8,17}$'
  require_metadata region "$region" '^[a-z]{2}(-[a-z]+)+-[0-9]+$'
  require_metadata asg_id "$asg_name" '^[^[:cntrl:]]{1,255}$'
  log "instance ${instance_id} (${ami_id}) of ${asg_name} in ${region}"
}

main_ecr_login() {
  local registries registry
  [[ -n "$ECR_REGISTRIES" ]] || return 0
  mkdir -p "$DOCKER_CONFIG_DIR"
  read -r -a registries <<<"$ECR_REGISTRIES"
  for registry in "${registries[@]}"; do
    # <account>.dkr.ecr.<region>.<domain>: the password travels through the pipe only.
    aws ecr get-login-password --region "$(cut -d. -f4 <<<"$registry")" |
      docker --config "$DOCKER_CONFIG_DIR" login --username AWS --password-stdin "$registry" >/dev/null ||
      fail "docker login to ${registry} failed"
    log "logged in to ${registry}"
  done
  if [[ -n "$LAUNCHER_USER" ]]; then chown -R "$LAUNCHER_USER" "$DOCKER_CONFIG_DIR"; fi
}

run_pre_start_hooks() {
  main_ecr_login
  [[ -n "$PRE_START_COMMANDS" ]] || return 0
  log "running the pre-start commands"
  bash -euo pipefail -c "$PRE_START_COMMANDS" || fail "a pre-start command failed"
}

declare -A SECRETS=()
# secret_value ARN KEY VAR: sets VAR to the JSON field KEY of the secret's string (all of it if KEY
# is empty). Secret values stay in memory and pipes; nothing is written outside tmpfs.
secret_value() {
  local arn=$1 key=$2 found
  if [[ -z "${SECRETS[$arn]+set}" ]]; then
    found=$(aws secretsmanager get-secret-value --region "$region" --secret-id "$arn" \
      --query SecretString --output text) || fail "could not read secret ${arn}"
    SECRETS[$arn]=$found
  fi
  if [[ -z "$key" ]]; then
    found=${SECRETS[$arn]}
  else
    found=$(printf '%s' "${SECRETS[$arn]}" | jq -j --arg k "$key" \
      'if type == "object" and has($k) then .[$k] | (if type == "string" then . else tojson end) else error("no key") end' \
      2>/dev/null && printf x) || fail "secret ${arn} is not JSON with the key '${key}'"
    found=${found%x}
  fi
  printf -v "$3" '%s' "$found"
}

read_credentials() {
  local broker host
  secret_value "$CREDENTIALS_SECRET_ARN" "$TOKEN_KEY" token
  secret_value "$CREDENTIALS_SECRET_ARN" "$PRIVATE_KEY_KEY" private_key
  [[ "$token" =~ ^[A-Za-z0-9+/=]+$ ]] || fail "the worker pool token (secret key ${TOKEN_KEY}) is not base64"
  [[ "$private_key" =~ ^[A-Za-z0-9+/=]+$ ]] || fail "the pool private key (secret key ${PRIVATE_KEY_KEY}) is not base64"
  # FedRAMP pools get their own launcher build; the token says where its broker lives.
  broker=$(printf '%s' "$token" | base64 -d 2>/dev/null | jq -r '.broker.endpoint // ""' 2>/dev/null) ||
    fail "the worker pool token (secret key ${TOKEN_KEY}) is not a base64-encoded JSON pool configuration"
  host=${broker#*://}
  host=${host%%[:/]*}
  case "$host" in
    *.fedramp.spacelift.io | *.fedramp.spacelift.dev)
      fedramp=-fedramp
      log "FedRAMP worker pool (broker ${host})"
      ;;
    *) fedramp='' ;;
  esac
}

# sums_entry FILE NAME: the SHA256 of NAME in a sums file, or the only entry of a one-line file.
sums_entry() {
  awk -v name="$2" '
    NF >= 1 { lines++; first = $1 }
    NF >= 2 { file = $2; sub(/^\*/, "", file); sub(/.*\//, "", file); if (file == name) { print $1; found = 1; exit } }
    END { if (!found && lines == 1) print first }' "$1"
}

verify_signature() {
  local work=$1 status signer
  local -x GNUPGHOME="${work}/gnupg"
  mkdir -m 0700 "$GNUPGHOME"
  printf '%s\n' "$SIGNING_KEY" | gpg --batch --quiet --import 2>/dev/null || fail "could not import the launcher signing key"
  gpg --batch --with-colons --fingerprint "$SIGNING_KEY_FINGERPRINT" >/dev/null 2>&1 ||
    fail "the embedded signing key does not contain the pinned fingerprint ${SIGNING_KEY_FINGERPRINT}"
  # gpg --verify alone accepts a signature by any key in the keyring: check who signed.
  if ! status=$(gpg --batch --status-fd 1 --verify "${work}/SHA256SUMS.sig" "${work}/SHA256SUMS" 2>/dev/null); then
    signer=$(awk '$2 == "ERRSIG" || $2 == "BADSIG" { print $3; exit }' <<<"$status")
    fail "the launcher checksums signature is not valid for the pinned key ${SIGNING_KEY_FINGERPRINT} (signed by key ${signer:-unknown})"
  fi
  signer=$(awk -v fpr="$SIGNING_KEY_FINGERPRINT" '
    $1 == "[GNUPG:]" && $2 == "VALIDSIG" { seen = $3; if ($3 == fpr || $12 == fpr) { ok = 1 } }
    END { print (ok ? "ok" : seen) }' <<<"$status")
  [[ "$signer" == ok ]] || fail "the launcher checksums are signed by ${signer:-nobody}, not by the pinned key ${SIGNING_KEY_FINGERPRINT}"
  gpgconf --kill all >/dev/null 2>&1 || true
  log "launcher checksums signed by ${SIGNING_KEY_FINGERPRINT}"
}

install_launcher() {
  local arch work name url expected actual
  arch=$(uname -m)
  case "$arch" in
    x86_64 | aarch64) ;;
    *) fail "unsupported architecture ${arch}" ;;
  esac
  work=$(mktemp -d "${RUN_DIR}/launcher.XXXXXX")
  if [[ -n "$LAUNCHER_S3_URI" ]]; then
    name=${LAUNCHER_S3_URI##*/}
    aws s3 cp --only-show-errors --region "$region" "$LAUNCHER_S3_URI" "${work}/${name}" ||
      fail "could not download the launcher from ${LAUNCHER_S3_URI}"
    if [[ -n "$LAUNCHER_SHA256" ]]; then
      expected=$LAUNCHER_SHA256
    else
      aws s3 cp --only-show-errors --region "$region" "$LAUNCHER_SUMS_S3_URI" "${work}/SHA256SUMS" ||
        fail "could not download the launcher checksums from ${LAUNCHER_SUMS_S3_URI}"
      expected=$(sums_entry "${work}/SHA256SUMS" "$name")
    fi
  else
    name="spacelift-launcher${fedramp}-${arch}"
    url="${DOWNLOAD_BASE_URL}/${name}"
    fetch -o "${work}/${name}" "$url" || fail "could not download ${url} (gave up after ${RETRY_COUNT} retries)"
    fetch -o "${work}/SHA256SUMS" "${url}_SHA256SUMS" || fail "could not download ${url}_SHA256SUMS"
    fetch -o "${work}/SHA256SUMS.sig" "${url}_SHA256SUMS.sig" || fail "could not download ${url}_SHA256SUMS.sig"
    verify_signature "$work"
    expected=$(sums_entry "${work}/SHA256SUMS" "$name")
  fi
  [[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail "no SHA256 for ${name} in the launcher checksums"
  actual=$(sha256sum "${work}/${name}" | cut -d' ' -f1)
  [[ "$actual" == "$expected" ]] || fail "launcher checksum mismatch for ${name}: expected ${expected}, got ${actual}"
  install -m 0755 "${work}/${name}" "$LAUNCHER_PATH"
  rm -rf "$work"
  log "installed ${name} (sha256 ${actual})"
}

# env_line NAME VALUE: one line of the environment file, quoted for bash.
env_line() {
  [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || fail "invalid environment variable name '$1'"
  printf 'export %s=%q\n' "$1" "$2" >>"$env_tmp"
}

write_environment() {
  local names name value arn key whitelist='' rows
  env_tmp=$(mktemp "${RUN_DIR}/.env.XXXXXX")
  names=$(jq -r 'keys_unsorted[]' <<<"$LAUNCHER_ENV")
  for name in $names; do
    value=$(jq -j --arg k "$name" '.[$k]' <<<"$LAUNCHER_ENV" && printf x)
    env_line "$name" "${value%x}"
  done
  if [[ -n "$fedramp" ]] && jq -e '.SPACELIFT_WORKER_COMMS_URL // "" | test("^https://app(\\.us)?\\.spacelift\\.io$")' <<<"$LAUNCHER_ENV" >/dev/null; then
    fail "this is a FedRAMP pool but SPACELIFT_WORKER_COMMS_URL is a commercial SaaS URL; set launcher.comms to your FedRAMP URL"
  fi
  env_line SPACELIFT_METADATA_instance_id "$instance_id"
  env_line SPACELIFT_METADATA_ami_id "$ami_id"
  env_line SPACELIFT_METADATA_asg_id "$asg_name"
  # Run containers only see the variables named in SPACELIFT_WHITELIST_ENVS.
  for name in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    if [[ -n "${!name:-}" ]]; then
      env_line "$name" "${!name}"
      whitelist+=",${name}"
    fi
  done
  whitelist="${WHITELIST_ENVS}${whitelist}"
  if [[ -n "${whitelist#,}" ]]; then env_line SPACELIFT_WHITELIST_ENVS "${whitelist#,}"; fi
  if [[ -n "$ECR_REGISTRIES" ]]; then env_line SPACELIFT_DOCKER_CONFIG_DIR "$DOCKER_CONFIG_DIR"; fi
  rows=$(jq -r '.[] | [.name, .secretArn, .jsonKey] | @tsv' <<<"$SECRET_ENV")
  while IFS=$'\t' read -r name arn key; do
    if [[ -z "$name" ]]; then continue; fi
    secret_value "$arn" "$key" value
    env_line "$name" "$value"
  done <<<"$rows"
  env_line SPACELIFT_TOKEN "$token"
  env_line SPACELIFT_POOL_PRIVATE_KEY "$private_key"
  chmod 0600 "$env_tmp"
  mv -f "$env_tmp" "$ENV_FILE"
  log "wrote the launcher environment to ${ENV_FILE} (tmpfs, mode 0600)"
}

main_start() {
  local fs entry uid gid home
  export_proxies
  mkdir -p "$RUN_DIR"
  chmod 0700 "$RUN_DIR"
  fs=$(stat -f -c %T "$RUN_DIR")
  [[ "$fs" == tmpfs || "$fs" == ramfs ]] || fail "${RUN_DIR} is on ${fs}, not tmpfs; refusing to write secrets there"
  mkdir -p "${RUN_DIR}/tmp"
  export TMPDIR="${RUN_DIR}/tmp"
  wait_for_in_service
  read_metadata
  run_pre_start_hooks
  read_credentials
  install_launcher
  write_environment
  # shellcheck source=/dev/null
  source "$ENV_FILE"
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
  rm -rf "$ENV_FILE" "$DOCKER_CONFIG_DIR" "${RUN_DIR}/tmp"
  if [[ "$(systemctl is-system-running 2>/dev/null || true)" == stopping ]]; then
    log "the system is shutting down; nothing to do"
    return 0
  fi
  if [[ "${SERVICE_RESULT:-}" == success ]]; then
    log "the launcher exited; shutting down in ${POWEROFF_DELAY_SECONDS}s (the instance then terminates)"
    sleep "$POWEROFF_DELAY_SECONDS"
    systemctl poweroff || shutdown -h now
  else
    power_off "the launcher failed (${SERVICE_RESULT:-unknown}: ${EXIT_CODE:-}/${EXIT_STATUS:-})"
  fi
}

case "$PHASE" in
  install) main_install ;;
  start) main_start ;;
  stop-post) main_stop_post ;;
  ecr-login) main_ecr_login ;;
  *) fail "unknown command ${PHASE}" ;;
esac

import { createHash } from "node:crypto";
import { z } from "zod";
import type { Step } from "../engine/steps";
import { PERSIST_MODES, PERSIST_VIAS, type PersistMode, type PersistVia } from "./mode";

/**
 * `persist` makes a resource survive a reboot: besides making it live with `ip` (exactly as
 * without persistence), the provider writes files that recreate it at boot: systemd-networkd's
 * `.netdev`/`.network` files ("networkd", networkd.ts) or NetworkManager's keyfiles
 * ("networkmanager", networkmanager.ts) where they can express the device, else a oneshot
 * systemd unit that replays the same argv (oneshot.ts; "systemd": the unit for everything).
 * "auto" picks by what the host runs (host-support.ts). Omitted (or "none"): nothing is written.
 */
export const persistField = z.enum(PERSIST_MODES).optional();
export type { PersistMode, PersistVia };

/** The `persistVia` output of every resource: what `persist` wrote for, "auto" resolved. */
export const persistOutputs = {
  persistVia: z
    .enum(PERSIST_VIAS)
    .optional()
    .describe(
      'What the boot-time files were written for: "networkd", "networkmanager" or "systemd" (units only); with `persist: "auto"`, what it picked on the host. Absent without persist.',
    ),
};

export const NETWORKD_DIR = "/etc/systemd/network";
export const UNIT_DIR = "/etc/systemd/system";
export const WANTS_DIR = `${UNIT_DIR}/multi-user.target.wants`;
export const SCRIPT_DIR = "/etc/pulumi-netdev";
export const NETWORKMANAGER_DIR = "/etc/NetworkManager/system-connections";

/** A file the provider keeps on a host for one resource, or a symlink (a unit's enablement). */
export type Artifact =
  | { path: string; content: string; mode: "0644" | "0600" /** written through stdin, never argv */; secret?: boolean }
  | { path: string; linkTo: string };

/** The line every persisted file starts with: what wrote it and whose it is (removal checks it). */
export function header(comment: string, token: string, what: string): string {
  return `${comment} Written by pulumi-netdev for ${what} (owner netdev#${token}).\n${comment} \`pulumi up\` rewrites it, delete removes it, \`pulumi refresh\` reports edits; do not edit by hand.\n`;
}

// Fixed scripts; everything from inputs arrives as positional arguments ($1…), never as code.
// Writes go to a temporary name in the same directory, then rename: a reader (networkd,
// systemd at boot) never sees half a file.
const WRITE = [
  "umask 022",
  "while [ $# -gt 0 ]; do",
  '  case "$1" in',
  '    file) mkdir -p "${3%/*}" && printf %s "$4" > "$3.netdev-new" && chmod "$2" "$3.netdev-new" && mv -f "$3.netdev-new" "$3" || exit 1; shift 4 ;;',
  '    stdin) mkdir -p "${3%/*}" && (umask 077 && cat > "$3.netdev-new") && chmod "$2" "$3.netdev-new" && mv -f "$3.netdev-new" "$3" || exit 1; shift 3 ;;',
  '    link) mkdir -p "${3%/*}" && ln -sfn "$2" "$3" || exit 1; shift 3 ;;',
  '    *) echo "netdev: unknown write op $1" >&2; exit 2 ;;',
  "  esac",
  "done",
].join("\n");

// Removes only what is ours: a file named with its owner's token or carrying its owner tag in
// its header, a symlink to one of our units; absent paths are fine (delete is idempotent). The
// arguments are groups, one per owner: its tag, its token, how many paths, the paths. One path
// that cannot go does not keep the others: it fails the step at the end.
const REMOVE = [
  "failed=0",
  // NetworkManager forgets a profile whose file is gone when asked to load that path. A device
  // it made from the profile (at boot) it would delete with it: the device is made unmanaged
  // first, which keeps it (and up) but drops its addresses once the deactivation that follows
  // has run (awaited, bounded), so they are put back after. It stays unmanaged until NetworkManager
  // restarts: handing it back at once left it without addresses on the lab's NetworkManager.
  "unload() {",
  `  case "$1" in ${NETWORKMANAGER_DIR}/pulumi-netdev-*.nmconnection) ;; *) return 0 ;; esac`,
  "  command -v nmcli >/dev/null 2>&1 || return 0",
  "  d=${1##*/pulumi-netdev-}; d=${d%.nmconnection}",
  '  addrs=$(ip -o addr show dev "$d" scope global 2>/dev/null | while read -r _ _ _ a _; do echo "$a"; done)',
  '  nmcli device set "$d" managed no >/dev/null 2>&1',
  "  i=0",
  '  while [ $i -lt 50 ] && ! nmcli -g GENERAL.STATE device show "$d" 2>/dev/null | grep -q unmanaged; do sleep 0.1; i=$((i + 1)); done',
  '  nmcli connection load "$1" >/dev/null 2>&1',
  '  for a in $addrs; do ip addr replace "$a" dev "$d" >/dev/null 2>&1; done',
  "  return 0",
  "}",
  "while [ $# -ge 3 ]; do",
  "  tag=$1; token=$2; n=$3; shift 3",
  '  while [ "$n" -gt 0 ] && [ $# -gt 0 ]; do',
  "    f=$1; shift; n=$((n - 1))",
  '    if [ -L "$f" ]; then case "$(readlink "$f")" in */pulumi-netdev-*) rm -f "$f" || failed=1 ;; esac',
  '    elif [ -f "$f" ]; then',
  '      case "${f##*/}" in *"$token"*) rm -f "$f" || failed=1; continue ;; esac',
  '      if grep -qF -- "$tag" "$f"; then rm -f "$f" || failed=1; unload "$f"; fi',
  "    fi",
  "  done",
  "done",
  "exit $failed",
].join("\n");

/**
 * Steps that write the artifacts: the public files and links in as few steps as `maxBytes` of
 * content allows (one without a limit), one step per secret file (its content on stdin).
 */
export function writeSteps(artifacts: Artifact[], { maxBytes = Number.POSITIVE_INFINITY }: { maxBytes?: number } = {}): Step[] {
  const publicSteps: string[][] = [];
  let size = 0;
  const secretSteps: Step[] = [];
  const add = (...args: string[]) => {
    const bytes = args.reduce((sum, arg) => sum + arg.length, 0);
    if (size + bytes > maxBytes || publicSteps.length === 0) {
      publicSteps.push([]);
      size = 0;
    }
    publicSteps[publicSteps.length - 1]!.push(...args);
    size += bytes;
  };
  for (const artifact of artifacts) {
    if ("linkTo" in artifact) add("link", artifact.linkTo, artifact.path);
    else if (artifact.secret)
      secretSteps.push({ field: "persist", tool: "sh", args: ["-c", WRITE, "netdev-persist", "stdin", artifact.mode, artifact.path], stdin: artifact.content });
    else add("file", artifact.mode, artifact.path, artifact.content);
  }
  const profiles = artifacts.filter((artifact) => artifact.path.startsWith(`${NETWORKMANAGER_DIR}/`)).map((artifact) => artifact.path);
  return [
    ...publicSteps.map((args) => ({ field: "persist", tool: "sh", args: ["-c", WRITE, "netdev-persist", ...args] }) satisfies Step),
    ...secretSteps,
    // Known to NetworkManager now (it reads keyfiles at start, or when told), without a restart.
    ...(profiles.length ? [{ field: "persist", tool: "sh", args: ["-c", 'nmcli connection load "$@"', "netdev-nm-load", ...profiles] } satisfies Step] : []),
  ];
}

/** What the host must run for these files to work: NetworkManager for a keyfile, networkd for a `.netdev`, else systemd (units). */
export function neededFor(artifacts: readonly Artifact[]): "systemd" | "networkd" | "networkmanager" {
  if (artifacts.some((artifact) => artifact.path.startsWith(`${NETWORKMANAGER_DIR}/`))) return "networkmanager";
  if (artifacts.some((artifact) => artifact.path.startsWith(`${NETWORKD_DIR}/`) && artifact.path.endsWith(".netdev"))) return "networkd";
  return "systemd";
}

/** Whether state says persistence was on (it may say "drifted": files edited since). */
export function wasPersisted(persist: unknown): boolean {
  return persist !== undefined && persist !== null && persist !== "none";
}

/**
 * Steps that bring a resource's persisted files in line with its inputs: `wanted` written
 * (undefined: persistence off), every other path it may have written removed, when it was or
 * is persisted. `paths` lists every path the resource could ever have written.
 */
export function syncSteps(wanted: Artifact[] | undefined, paths: string[], token: string, before: unknown): Step[] {
  if (!wanted) return wasPersisted(before) ? removeStep(paths, token) : [];
  const keep = new Set(wanted.map((artifact) => artifact.path));
  return [
    ...removeStep(
      paths.filter((path) => !keep.has(path)),
      token,
    ),
    ...writeSteps(wanted),
  ];
}

/** A step that removes these paths where they are ours (tagged with this token). */
export function removeStep(paths: string[], token: string): Step[] {
  return removeSteps([{ token, paths }]);
}

/**
 * Steps that remove each owner's paths where they are that owner's (named with its token or
 * tagged with it): one step for all, or as many as `maxBytes` of paths allows.
 */
export function removeSteps(owners: ReadonlyArray<{ token: string; paths: readonly string[] }>, { maxBytes = Number.POSITIVE_INFINITY } = {}): Step[] {
  const steps: string[][] = [];
  let size = 0;
  for (const { token, paths } of owners) {
    if (paths.length === 0) continue;
    const group = [`netdev#${token}`, token, String(paths.length), ...paths];
    const bytes = group.reduce((sum, arg) => sum + arg.length + 3, 0);
    if (steps.length === 0 || size + bytes > maxBytes) {
      steps.push([]);
      size = 0;
    }
    steps[steps.length - 1]!.push(...group);
    size += bytes;
  }
  return steps.map((args) => ({ field: "persist", tool: "sh", args: ["-c", REMOVE, "netdev-unpersist", ...args] }));
}

/**
 * One read lists every persisted file of every resource on a host (a refresh of N resources
 * shares it): `sha256 path` per file, `-> target path` per link. Hashes, so no secret leaves
 * the host, and the output stays small.
 */
export const FINGERPRINT_ARGV = [
  "sh",
  "-c",
  [
    `for f in ${NETWORKD_DIR}/10-pulumi-netdev-* ${NETWORKMANAGER_DIR}/pulumi-netdev-*.nmconnection ${UNIT_DIR}/pulumi-netdev-*.service ${WANTS_DIR}/pulumi-netdev-*.service ${SCRIPT_DIR}/*; do`,
    '  if [ -L "$f" ]; then printf -- "-> %s %s\\n" "$(readlink "$f")" "$f"',
    '  elif [ -f "$f" ]; then sha256sum "$f"',
    "  fi",
    "done",
    "true",
  ].join("\n"),
];

/** Parses FINGERPRINT_ARGV's output: path → sha256 or "-> target". */
export function parseFingerprints(stdout: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const link = /^-> (\S+) (\S+)$/.exec(line);
    if (link) found.set(link[2]!, `-> ${link[1]}`);
    const file = /^([0-9a-f]{64}) [ *](\S+)$/.exec(line);
    if (file) found.set(file[2]!, file[1]!);
  }
  return found;
}

/** What each artifact should fingerprint as. */
export function expectedFingerprint(artifact: Artifact): string {
  return "linkTo" in artifact ? `-> ${artifact.linkTo}` : createHash("sha256").update(artifact.content).digest("hex");
}

/** Artifacts that are missing or differ on the host, each as "path (missing|edited)". */
export function driftOf(artifacts: Artifact[], found: Map<string, string>): string[] {
  return artifacts.flatMap((artifact) => {
    const actual = found.get(artifact.path);
    if (actual === undefined) return [`${artifact.path} (missing)`];
    return actual === expectedFingerprint(artifact) ? [] : [`${artifact.path} (edited)`];
  });
}

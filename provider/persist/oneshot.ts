import { type Step, stepArgv } from "../engine/steps";
import { IMPLICIT_NAMESPACE_MARK } from "../engine/ownership";
import { quoteArgv } from "../ssh/quote";
import { type Artifact, header, SCRIPT_DIR, UNIT_DIR, WANTS_DIR } from "./files";

/** What a oneshot unit replays at boot, and what it waits for first. */
export interface Replay {
  /** The resource's owner token: names its unit and script. */
  token: string;
  /** "Bridge br0 in namespace c1", for the unit's Description and the files' header. */
  what: string;
  /** The unit's name: `pulumi-netdev-<token>.service` unless a well-known name is needed (a namespace's, which devices order after). */
  unitName?: string;
  /** The argv the provider ran (at most one step with stdin: kept in a 0600 file beside the script). */
  steps: Step[];
  /** Namespaces that must exist first: made (and marked implicit, as the provider does) unless a NetworkNamespace unit made them. */
  namespaces: string[];
  /**
   * Devices that must exist first (a master, a parent), each awaited up to 30 s: networkd,
   * NetworkManager or another unit makes them. `up`: also administratively up (a VLAN cannot
   * be set up on a parent that is down; NetworkManager brings a NIC up after such a unit starts).
   */
  waitFor: Array<{ netns?: string; name: string; up?: boolean }>;
  /** A read that succeeds when the resource already exists: the script then does nothing (idempotent re-runs). */
  exists?: Step;
  /** Retry the steps for up to 30 s (a route whose gateway or device comes up later). */
  retry?: boolean;
}

export const unitNameFor = (token: string) => `pulumi-netdev-${token}.service`;
export const namespaceUnitName = (netns: string) => `pulumi-netdev-netns-${netns}.service`;

/**
 * A oneshot systemd unit that replays, at boot, the very argv the provider ran: for what
 * systemd-networkd cannot express (a device in a namespace, a veth whose peer is in one,
 * devices stacked on a parent, namespaces, routes). Ordered after systemd-networkd (which may
 * make the masters) and after the units of the namespaces it uses; enabled by the symlink
 * `systemctl enable` would make, written directly so no daemon-reload runs per resource.
 */
export function oneshotArtifacts(replay: Replay): Artifact[] {
  const unitName = replay.unitName ?? unitNameFor(replay.token);
  const script = `${SCRIPT_DIR}/${replay.token}.sh`;
  const stdinFile = `${SCRIPT_DIR}/${replay.token}.stdin`;
  const withStdin = replay.steps.filter((step) => step.stdin !== undefined);
  if (withStdin.length > 1) throw new Error(`${replay.what}: at most one replayed step may take stdin`);
  const run = (step: Step) => `${quoteArgv(stepArgv(step))} <${step.stdin !== undefined ? stdinFile : "/dev/null"}`;
  const namespaces = [...new Set(replay.namespaces)];
  const lines = [
    "#!/bin/sh",
    header("#", replay.token, replay.what).trimEnd(),
    "set -e",
    'wait_for() { i=0; while ! "$@" >/dev/null 2>&1; do i=$((i+1)); [ "$i" -lt 300 ] || return 0; sleep 0.1; done; }',
    ...namespaces.map(
      (ns) =>
        `[ -e ${quoteArgv([`/run/netns/${ns}`])} ] || { ${quoteArgv(["ip", "netns", "add", ns])} && ${quoteArgv(["ip", "-n", ns, "link", "set", "dev", "lo", "up", "alias", IMPLICIT_NAMESPACE_MARK])}; }`,
    ),
    ...replay.waitFor.map((device) =>
      device.up
        ? `wait_for ${quoteArgv(["sh", "-c", '[ -n "$(ip -o link show dev "$1" up)" ]', "netdev-wait-up", device.name])}`
        : `wait_for ${quoteArgv(stepArgv({ tool: "ip", netns: device.netns, args: ["link", "show", "dev", device.name] }))}`,
    ),
    ...(replay.exists ? [`if ${quoteArgv(stepArgv(replay.exists))} >/dev/null 2>&1; then exit 0; fi`] : []),
    ...(replay.retry
      ? [
          "replay() {",
          ...replay.steps.map((step) => `  ${run(step)} || return 1`),
          "}",
          'i=0; until replay; do i=$((i+1)); [ "$i" -lt 300 ] || exit 1; sleep 0.1; done',
        ]
      : replay.steps.map(run)),
    "",
  ];
  const unit = [
    header("#", replay.token, replay.what).trimEnd(),
    "[Unit]",
    `Description=pulumi-netdev: ${replay.what}`,
    `After=systemd-networkd.service ${namespaces
      .filter((ns) => namespaceUnitName(ns) !== unitName)
      .map(namespaceUnitName)
      .join(" ")}`.trimEnd(),
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/sh ${script}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
  return [
    { path: script, mode: "0644", content: lines.join("\n") },
    ...withStdin.map((step): Artifact => ({ path: stdinFile, mode: "0600", content: step.stdin!, secret: true })),
    { path: `${UNIT_DIR}/${unitName}`, mode: "0644", content: unit },
    { path: `${WANTS_DIR}/${unitName}`, linkTo: `${UNIT_DIR}/${unitName}` },
  ];
}

/** Every path a oneshot replay may have written for this token (removal covers a stdin file that may or may not exist). */
export function oneshotPaths(token: string, unitName = unitNameFor(token)): string[] {
  return [`${SCRIPT_DIR}/${token}.sh`, `${SCRIPT_DIR}/${token}.stdin`, `${UNIT_DIR}/${unitName}`, `${WANTS_DIR}/${unitName}`];
}

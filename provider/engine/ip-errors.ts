/**
 * The one place that tells iproute2's (and the host's) error texts apart. Every caller asks
 * `classifyIpError(stderr)` instead of matching text of its own, so a new iproute2 wording is
 * fixed here once. The remote shell runs commands with LC_ALL=C where it matters (deleteOwned),
 * and iproute2's own messages are not translated.
 */
export type IpErrorKind =
  /** `Cannot find device "x"`, `Device "x" does not exist.` */
  | "device-missing"
  /** `Cannot open network namespace "x": No such file or directory`, a missing sysfs/netns file. */
  | "namespace-missing"
  /** `Error: Unknown device type.`: the kernel lacks the kind's module. */
  | "unknown-device-type"
  /** `RTNETLINK answers: File exists`, `Cannot create namespace file ... File exists`. */
  | "exists"
  /** A route, FDB entry or address that is not there (`No such process`, `Cannot assign requested address`). */
  | "entry-missing"
  /** `RTNETLINK answers: Operation not supported`: the kernel has the kind but not an option asked for (e.g. a bridge's vlan_filtering). */
  | "not-supported";

const PATTERNS: Array<[IpErrorKind, RegExp]> = [
  ["unknown-device-type", /Unknown device type/i],
  ["namespace-missing", /Cannot open network namespace/i],
  ["device-missing", /Cannot find device|does not exist|No such device/i],
  ["exists", /File exists/i],
  ["entry-missing", /No such process|Cannot assign requested address/i],
  ["not-supported", /Operation not supported/i],
  // Last: a bare ENOENT (a sysfs file of a device that is not there, a namespace file).
  ["namespace-missing", /No such file or directory/i],
];

export function classifyIpError(stderr: string): IpErrorKind | undefined {
  return PATTERNS.find(([, pattern]) => pattern.test(stderr))?.[0];
}

export function isIpError(stderr: string, ...kinds: IpErrorKind[]): boolean {
  const kind = classifyIpError(stderr);
  return kind !== undefined && kinds.includes(kind);
}

/** Whether a failed read of one link says it is not there: no such device, or no such (named) namespace. */
export function linkAbsent(stderr: string, netns: string | undefined): boolean {
  return isIpError(stderr, "device-missing") || (Boolean(netns) && isIpError(stderr, "namespace-missing"));
}

import { randomInt } from "node:crypto";
import { quoteArg } from "../ssh/quote";
import { interfaceName } from "./fields";

/**
 * Owned devices of one host namespace deleted by ONE script, and, for two or more, by ONE
 * netlink request.
 *
 * The kernel unregisters each device under the machine-wide rtnl lock and pays its RCU grace
 * periods once per request: deleting bridges one by one costs ~45 ms each here, while
 * `ip link del group G` (rtnl_group_dellink → unregister_netdevice_many) of k bridges costs
 * ~20 + 19·k ms (measured: 2 → 56 ms, 8 → 170, 20 → 383 against 903 one by one). So deletes
 * that overlap on a host go as one script that
 *
 * 1. checks each device's owner tag from sysfs (shell builtins only: no process per device),
 *    together with its ifindex, read before and after the tag: the tag is that device's (an
 *    ifindex is never given to another device soon after), and reports the ones that are
 *    absent or not ours, which it leaves alone;
 * 2. moves the owned ones into a fresh random group (one `ip -force -batch`) by ifindex
 *    (`dev if<N>`), never by name: a device swapped in under the name since the check (deleted
 *    and made again by someone else) is not touched; each one's own group is remembered;
 * 3. just before deleting, checks again that each name still leads to the ifindex it checked
 *    and that its tag is unchanged, and that the group holds exactly those devices (another
 *    program may have picked the same group): otherwise nothing is deleted by group: our
 *    devices get their groups back and go one by one;
 * 4. deletes the group; if the kernel refuses (a member without netlink ops, for instance),
 *    deletes one by one, so a device that cannot go fails only its own resource and keeps its
 *    own group.
 *
 * One device alone (ownedDeleteScript) runs steps 1 and the one-by-one delete: also by ifindex,
 * after the same checks. A device whose ifindex a device named `if<N>` shadows (iproute2 would
 * take that name first) goes by name, checked just before.
 *
 * Its stdout is one marker line per device (failures followed by the error text and an end
 * line), parsed by groupDeleteOutcomes, which takes only whole lines in that form. No alias or
 * other text of the host is ever printed on stdout, so nothing a device carries can pose as a
 * marker. Built only from fixed syntax and quoteArg'd names and tags.
 */
export interface GroupedDevice {
  name: string;
  /**
   * The full owner tag the device's alias must start with (`netdev#<token>`); undefined: the
   * device must carry no owner tag at all (one whose tag was cleared by hand: see the engine).
   */
  tag?: string;
  /** When set, the device must be this very one: a device of that name with another ifindex is not ours. */
  ifindex?: number;
}

export type GroupOutcome = { outcome: "deleted" | "absent" | "not-ours" } | { outcome: "failed"; stderr: string };

const MARK = "__netdev_del";
const END = "__netdev_del_end";
const MARKER_LINE = new RegExp(`^${MARK} (0|[1-9][0-9]*) (deleted|absent|not-ours|failed)$`);

/** Names the grouped script can carry as plain words: valid interface names (fields.ts), as state from any release holds. */
export function groupableName(name: string): boolean {
  return interfaceName.safeParse(name).success;
}

/** Names the kernel can have (dev_valid_name): what the script for one device takes, whatever release wrote the state. */
function kernelName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && name !== "." && name !== ".." && !/[/:\s\0]/.test(name);
}

/** A group number nobody is likely to use: above the small ones people name in /etc/iproute2/group. */
export function randomGroup(): number {
  return randomInt(0x1000000, 0x7fffffff);
}

const mark = (what: string) => `echo "${MARK} $i ${what}"`;

/**
 * Shell functions both scripts use. An entry of $ours is "index:name:group:ifindex:tag" (names
 * hold no ':' or whitespace: the kernel refuses them; tags are `netdev#<hex>` or empty).
 */
const FUNCTIONS = [
  "LC_ALL=C; export LC_ALL",
  "set -f", // lists below are split on spaces; names have no glob characters, but no chance is taken
  // Whether alias $1 carries tag $2 ('': no owner tag at all).
  'tagged() { case "$2" in "") case "$1" in netdev#*) return 1 ;; esac ;; *) case "$1" in "$2"|"$2 "*) ;; *) return 1 ;; esac ;; esac; }',
  // Only builtins in loops (no $(…), no pipes): a fork per device would cost what grouping saves.
  // $1 index, $2 name, $3 tag, $4 the ifindex it must have ('': any). Absent: no sysfs entry.
  "ours=''; joins=''",
  "chk() {",
  "  i=$1; s=/sys/class/net/$2; x=''; y=''; a=''",
  '  { IFS= read -r x <"$s/ifindex"; } 2>/dev/null || [ -e "$s" ] || { ' + mark("absent") + "; return; }",
  // A device without an alias has an empty ifalias: read fails, and $a stays empty.
  '  { IFS= read -r a <"$s/ifalias"; } 2>/dev/null; { IFS= read -r y <"$s/ifindex"; } 2>/dev/null',
  '  [ -n "$x" ] && [ "$x" = "$y" ] && { [ -z "$4" ] || [ "$x" = "$4" ]; } && tagged "$a" "$3" || { ' + mark("not-ours") + "; return; }",
  '  o=0; { IFS= read -r o <"$s/netdev_group"; } 2>/dev/null',
  '  ours="$ours $1:$2:$o:$x:$3"',
  '  [ -e "/sys/class/net/if$x" ] || joins="$joins',
  'link set dev if$x group $g"',
  "}",
  "part() { r=$1; i=${r%%:*}; r=${r#*:}; n=${r%%:*}; r=${r#*:}; o=${r%%:*}; r=${r#*:}; x=${r%%:*}; t=${r#*:}; }",
  // 0: the name still leads to ifindex $x, with the tag as checked; 1: it does not (renamed,
  // gone, or swapped); 2: the same device, but its tag changed since (someone else took it).
  "still() {",
  "  m=''; b=''",
  '  { IFS= read -r m <"/sys/class/net/$n/ifindex"; } 2>/dev/null',
  '  [ "$m" = "$x" ] || return 1',
  '  { IFS= read -r b <"/sys/class/net/$n/ifalias"; } 2>/dev/null',
  '  tagged "$b" "$t" || return 2',
  "}",
  // One device alone, by ifindex: its own error, and its own group back if it stays.
  "one() {",
  '  part "$1"; still; v=$?',
  '  [ "$v" -ne 2 ] || { ' + mark("not-ours") + "; return; }",
  '  r="if$x"',
  // A device named if<N> would be taken for ifindex N: by name then, only while the name is ours.
  '  if [ -e "/sys/class/net/$r" ]; then [ "$v" -eq 0 ] || { ' + mark("absent") + "; return; }; r=$n; fi",
  '  if e=$(ip link del dev "$r" 2>&1); then ' + mark("deleted") + "; return; fi",
  "  still || { " + mark("absent") + "; return; }",
  '  ip link set dev "$r" group "$o" 2>/dev/null',
  "  printf '%s %s failed\\n%s\\n%s\\n' " + MARK + ' "$i" "$e" ' + END,
  "}",
];

function chkLines(devices: readonly GroupedDevice[]): string[] {
  return devices.map((device, i) => {
    if (device.ifindex !== undefined && !(Number.isInteger(device.ifindex) && device.ifindex > 0)) throw new Error(`bad ifindex ${device.ifindex}`);
    return `chk ${i} ${quoteArg(device.name)} ${quoteArg(device.tag ?? "")} ${device.ifindex ?? "''"}`;
  });
}

/** The script for one device: the checks, then the delete by ifindex (see above). Any name the kernel can have. */
export function ownedDeleteScript(device: GroupedDevice): string {
  if (!kernelName(device.name)) throw new Error(`cannot delete ${JSON.stringify(device.name)}: not an interface name`);
  return [...FUNCTIONS, "g=0", ...chkLines([device]), 'for d in $ours; do one "$d"; done'].join("\n");
}

export function groupDeleteScript(devices: readonly GroupedDevice[], group: number): string {
  for (const device of devices)
    if (!groupableName(device.name)) throw new Error(`cannot delete ${JSON.stringify(device.name)} in a group: not a plain interface name`);
  if (!Number.isInteger(group) || group <= 0 || group > 0xffffffff) throw new Error(`bad group ${group}`);
  return [
    ...FUNCTIONS,
    `g=${group}`,
    ...chkLines(devices),
    '[ -n "$ours" ] || exit 0',
    "ip -force -batch - >/dev/null 2>&1 <<EOF",
    "$joins",
    "EOF",
    // Which of ours are in the group and still themselves; the rest go one by one.
    "joined=''; rest=''; k=0; idx=' '",
    'for d in $ours; do part "$d"; m=; { IFS= read -r m <"/sys/class/net/$n/netdev_group"; } 2>/dev/null',
    '  if [ "$m" = "$g" ] && still; then joined="$joined $d"; k=$((k+1)); idx="$idx$x "; else rest="$rest $d"; fi',
    "done",
    // The group's members, by ifindex ("N: name: …" per line): exactly the checked ones, or no group delete.
    "c=0; other=''",
    'while IFS= read -r l; do [ -n "$l" ] || continue; c=$((c+1)); case "$idx" in *" ${l%%:*} "*) ;; *) other=1 ;; esac; done <<EOF',
    '$(ip -o link show group "$g" 2>/dev/null)',
    "EOF",
    'if [ -n "$joined" ] && [ -z "$other" ] && [ "$c" -eq "$k" ] && ip link del group "$g" 2>/dev/null; then',
    '  for d in $joined; do part "$d"; ' + mark("deleted") + "; done",
    '  for d in $rest; do one "$d"; done',
    "  exit 0",
    "fi",
    // Someone else's device in the group (nothing was deleted), or the kernel refused the group:
    // every one of ours that is still there goes back to its own group, then one by one.
    "back=''",
    'for d in $ours; do part "$d"; [ -e "/sys/class/net/if$x" ] || back="$back',
    'link set dev if$x group $o"; done',
    "ip -force -batch - >/dev/null 2>&1 <<EOF",
    "$back",
    "EOF",
    'for d in $ours; do one "$d"; done',
  ].join("\n");
}

/**
 * Each device's outcome from the script's stdout, in the order given; undefined for a device
 * the script did not report (it was cut off). Only whole marker lines count, each device's first.
 */
export function groupDeleteOutcomes(stdout: string, count: number): Array<GroupOutcome | undefined> {
  const outcomes: Array<GroupOutcome | undefined> = Array.from({ length: count }, () => undefined);
  const lines = stdout.split("\n");
  for (let l = 0; l < lines.length; l++) {
    const marker = MARKER_LINE.exec(lines[l]!);
    const i = Number(marker?.[1]);
    if (!marker || i >= count) continue;
    const what = marker[2]!;
    if (what !== "failed") {
      outcomes[i] ??= { outcome: what as "deleted" | "absent" | "not-ours" };
      continue;
    }
    const end = lines.indexOf(END, l + 1);
    if (end < 0) break; // cut off: its error never arrived whole
    outcomes[i] ??= {
      outcome: "failed",
      stderr: lines
        .slice(l + 1, end)
        .join("\n")
        .trim(),
    };
    l = end;
  }
  return outcomes;
}

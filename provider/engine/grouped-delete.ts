import { randomInt } from "node:crypto";
import { quoteArg } from "../ssh/quote";
import { interfaceName } from "./fields";

/**
 * Several owned devices of one host namespace deleted by ONE netlink request.
 *
 * The kernel unregisters each device under the machine-wide rtnl lock and pays its RCU grace
 * periods once per request: deleting bridges one by one costs ~45 ms each here, while
 * `ip link del group G` (rtnl_group_dellink → unregister_netdevice_many) of k bridges costs
 * ~20 + 19·k ms (measured: 2 → 56 ms, 8 → 170, 20 → 383 against 903 one by one). So deletes
 * that overlap on a host go as one script that
 *
 * 1. checks each device's owner tag from sysfs (shell builtins only: no process per device),
 *    and reports the ones that are absent or not ours, which it leaves alone;
 * 2. moves the owned ones into a fresh random group (one `ip -force -batch`), remembering
 *    each one's own group;
 * 3. counts the group's members (`ip -o link show group G`, one line per device): if anything
 *    but our devices is in it (another program picked the same group), nothing is deleted by
 *    group: our devices get their groups back and go one by one;
 * 4. deletes the group; if the kernel refuses (a member without netlink ops, for instance),
 *    deletes one by one, so a device that cannot go fails only its own resource and keeps its
 *    own group.
 *
 * Its stdout is one marker line per device (failures followed by the error text), parsed by
 * groupDeleteOutcomes. Built only from fixed syntax and quoteArg'd names and tags; the names are
 * validated interface names ([A-Za-z0-9_.@+-], no `:` or whitespace: see fields.ts), which the
 * script and iproute2's batch reader take as plain words.
 */
export interface GroupedDevice {
  name: string;
  /** The full owner tag the device's alias must start with (`netdev#<token>`). */
  tag: string;
}

export type GroupOutcome = { outcome: "deleted" | "absent" | "not-ours" } | { outcome: "failed"; stderr: string };

const MARK = "__netdev_del";
const END = "__netdev_del_end";

/** Names the script can carry as plain words: valid interface names (fields.ts), as state from any release holds. */
export function groupableName(name: string): boolean {
  return interfaceName.safeParse(name).success;
}

/** A group number nobody is likely to use: above the small ones people name in /etc/iproute2/group. */
export function randomGroup(): number {
  return randomInt(0x1000000, 0x7fffffff);
}

export function groupDeleteScript(devices: readonly GroupedDevice[], group: number): string {
  for (const device of devices) if (!groupableName(device.name)) throw new Error(`cannot delete ${JSON.stringify(device.name)} in a group: not a plain interface name`);
  if (!Number.isInteger(group) || group <= 0 || group > 0xffffffff) throw new Error(`bad group ${group}`);
  const mark = (what: string) => `echo "${MARK} $i ${what}"`;
  return [
    "LC_ALL=C; export LC_ALL",
    "set -f", // lists below are split on spaces; names have no glob characters, but no chance is taken
    `g=${group}`,
    // Only builtins in loops (no $(…), no pipes): a fork per device would cost what grouping saves.
    // $1 index, $2 name, $3 tag. A device whose alias cannot be read and whose sysfs entry is gone is absent.
    "ours=''; joins=''",
    "chk() {",
    '  i=$1; a=\'\'; { IFS= read -r a <"/sys/class/net/$2/ifalias"; } 2>/dev/null || [ -e "/sys/class/net/$2/ifalias" ] || { ' + mark("absent") + '; return; }',
    '  case "$a" in "$3"|"$3 "*) ;; *) ' + mark("not-ours") + "; return ;; esac",
    '  o=0; { IFS= read -r o <"/sys/class/net/$2/netdev_group"; } 2>/dev/null',
    '  ours="$ours $1:$2:$o"; joins="$joins',
    'link set dev $2 group $g"',
    "}",
    ...devices.map((device, i) => `chk ${i} ${quoteArg(device.name)} ${quoteArg(device.tag)}`),
    '[ -n "$ours" ] || exit 0',
    // "index:name:group" into $i, $n, $o.
    'part() { i=${1%%:*}; n=${1#*:}; n=${n%:*}; o=${1##*:}; }',
    // One device alone: its own error, and its own group back if it stays.
    "one() {",
    '  part "$1"',
    '  [ -e "/sys/class/net/$n" ] || { ' + mark("absent") + "; return; }",
    '  if e=$(ip link del dev "$n" 2>&1); then ' + mark("deleted") + "; return; fi",
    '  [ -e "/sys/class/net/$n" ] || { ' + mark("deleted") + "; return; }",
    '  ip link set dev "$n" group "$o" 2>/dev/null',
    "  printf '%s %s failed\\n%s\\n%s\\n' " + MARK + ' "$i" "$e" ' + END,
    "}",
    'ip -force -batch - >/dev/null 2>&1 <<EOF',
    "$joins",
    "EOF",
    // Which of ours joined (one deleted meanwhile did not), and how many devices the group holds.
    "joined=''; k=0; back=''",
    'for d in $ours; do part "$d"; m=; { IFS= read -r m <"/sys/class/net/$n/netdev_group"; } 2>/dev/null',
    '  if [ "$m" = "$g" ]; then joined="$joined $d"; k=$((k+1)); back="$back',
    'link set dev $n group $o"; else one "$d"; fi',
    "done",
    '[ -n "$joined" ] || exit 0',
    "c=0",
    "while IFS= read -r l; do [ -z \"$l\" ] || c=$((c+1)); done <<EOF",
    '$(ip -o link show group "$g" 2>/dev/null)',
    "EOF",
    'if [ "$c" -eq "$k" ] && ip link del group "$g" 2>/dev/null; then',
    '  for d in $joined; do part "$d"; ' + mark("deleted") + "; done",
    "  exit 0",
    "fi",
    // Someone else's device in the group (nothing was deleted), or the kernel refused the group:
    // every device that is still there goes back to its own group, then one by one.
    'ip -force -batch - >/dev/null 2>&1 <<EOF',
    "$back",
    "EOF",
    'for d in $joined; do one "$d"; done',
  ].join("\n");
}

/**
 * Each device's outcome from the script's stdout, in the order given; undefined for a device
 * the script did not report (it was cut off).
 */
export function groupDeleteOutcomes(stdout: string, count: number): Array<GroupOutcome | undefined> {
  const outcomes: Array<GroupOutcome | undefined> = Array.from({ length: count }, () => undefined);
  const lines = stdout.split("\n");
  for (let l = 0; l < lines.length; l++) {
    const [mark, index, what] = lines[l]!.split(" ");
    const i = Number(index);
    if (mark !== MARK || !Number.isInteger(i) || i < 0 || i >= count) continue;
    if (what === "deleted" || what === "absent" || what === "not-ours") outcomes[i] = { outcome: what };
    else if (what === "failed") {
      const end = lines.indexOf(END, l + 1);
      if (end < 0) break; // cut off: its error never arrived whole
      outcomes[i] = { outcome: "failed", stderr: lines.slice(l + 1, end).join("\n").trim() };
      l = end;
    }
  }
  return outcomes;
}

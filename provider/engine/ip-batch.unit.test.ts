import { describe, expect, it } from "vitest";
import { stepArgv } from "./steps";
import { batchWord, fusedScript } from "./ip-batch";
import type { Step } from "./kind";

const read = (netns?: string) => ({ tool: "ip" as const, netns, args: ["-json", "-details", "addr", "show", "dev", "br0"] });
const bridgeSteps = (netns?: string): Step[] => [
  { field: "create", tool: "ip", netns, args: ["link", "add", "name", "br0", "type", "bridge"] },
  { field: "alias", tool: "ip", netns, args: ["link", "set", "dev", "br0", "alias", "netdev#0123456789ab it's #1"] },
  { field: "addresses", tool: "ip", netns, args: ["addr", "add", "10.9.0.1/24", "dev", "br0"] },
  { field: "up", tool: "ip", netns, args: ["link", "set", "dev", "br0", "up"] },
];

describe("iproute2 batch words", () => {
  it.each([
    ["plain", "br0", "br0"],
    ["spaces", "a b", "'a b'"],
    ["a single quote", "it's", '"it\'s"'],
    ["a double quote", 'say "hi"', `'say "hi"'`],
    ["empty", "", "''"],
  ])("writes %s so the batch reader gives it back", (_label, arg, word) => {
    expect(batchWord(arg)).toBe(word);
  });

  it.each([
    ["a hash (the reader cuts the line there)", "netdev#abc"],
    ["both quote kinds", `it's "x"`],
    ["a line break", "a\nb"],
    ["a backslash", "a\\b"],
  ])("refuses %s", (_label, arg) => {
    expect(batchWord(arg)).toBeUndefined();
  });
});

describe("fused scripts", () => {
  it("runs a create in the host's namespace as one ip, a sysfs write for the tag, and one ip -batch with the read", () => {
    const { script } = fusedScript(bridgeSteps(), read(), stepArgv);
    expect(script).toBe(
      [
        `s=0 && ip link add name br0 type bridge && s=1 && printf '%s\\n' 'netdev#0123456789ab it'\\''s #1' >/sys/class/net/br0/ifalias && s=2 && ip -json -details -batch - <<'__netdev_ip_batch__' && s=ok`,
        "addr add 10.9.0.1/24 dev br0",
        "link set dev br0 up",
        "addr show dev br0",
        "__netdev_ip_batch__",
        `[ "$s" = ok ] || { echo "__netdev_failed_step=$s" >&2; exit 1; }`,
      ].join("\n"),
    );
  });

  it("keeps the tag an ip step inside a namespace (sysfs there is not the shell's) and batches with -n", () => {
    const { script } = fusedScript(bridgeSteps("c1"), read("c1"), stepArgv);
    expect(script).toContain("s=1 && ip -n c1 link set dev br0 alias 'netdev#0123456789ab it'\\''s #1' && s=2 && ip -n c1 -json -details -batch - <<");
    expect(script).not.toContain("/sys/class/net");
  });

  it("runs a step with stdin on its own and gives every other step /dev/null", () => {
    const steps: Step[] = [
      { field: "create", tool: "ip", args: ["link", "add", "name", "wg0", "type", "wireguard"] },
      { field: "privateKey", tool: "wg", args: ["set", "wg0", "private-key", "/proc/self/fd/0"], stdin: "secret" },
      { field: "up", tool: "ip", args: ["link", "set", "dev", "wg0", "up"] },
    ];
    const { script } = fusedScript(steps, undefined, stepArgv);
    expect(script).toBe(
      `s=0 && ip link add name wg0 type wireguard </dev/null && s=1 && wg set wg0 private-key /proc/self/fd/0 && s=2 && ip link set dev wg0 up </dev/null && s=ok\n[ "$s" = ok ] || { echo "__netdev_failed_step=$s" >&2; exit 1; }`,
    );
  });

  it("runs consecutive bridge fdb steps as one bridge -batch, apart from ip's, and names a failing one by its line", () => {
    const fdb = (verb: string, dst: string): Step => ({ field: "peers", tool: "bridge", args: ["fdb", verb, "00:00:00:00:00:00", "dev", "vx0", "dst", dst] });
    const steps: Step[] = [
      fdb("del", "10.0.0.9"),
      fdb("append", "10.0.0.1"),
      fdb("append", "10.0.0.2"),
      { field: "up", tool: "ip", args: ["link", "set", "dev", "vx0", "up"] },
    ];
    const fused = fusedScript(steps, undefined, stepArgv);
    expect(fused.script).toBe(
      [
        "s=0 && bridge -batch - <<'__netdev_ip_batch__' && s=3 && ip link set dev vx0 up && s=ok",
        "fdb del 00:00:00:00:00:00 dev vx0 dst 10.0.0.9",
        "fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.1",
        "fdb append 00:00:00:00:00:00 dev vx0 dst 10.0.0.2",
        "__netdev_ip_batch__",
        '[ "$s" = ok ] || { echo "__netdev_failed_step=$s" >&2; exit 1; }',
      ].join("\n"),
    );
    expect(fused.failure("RTNETLINK answers: No such file or directory\nCommand failed -:1\n__netdev_failed_step=0\n")).toEqual({
      index: 0,
      stderr: "RTNETLINK answers: No such file or directory",
    });
    expect(fused.failure("RTNETLINK answers: File exists\nCommand failed -:3\n__netdev_failed_step=0\n").index).toBe(2);
    // In a namespace: bridge -n, as the steps' own argv has it.
    const inside = steps.slice(0, 2).map((step) => ({ ...step, netns: "c1" }));
    expect(fusedScript(inside, undefined, stepArgv).script).toContain("bridge -n c1 -batch -");
  });

  it("never batches other tools, mixed namespaces, or words the reader would change", () => {
    const steps: Step[] = [
      { field: "a", tool: "ip", args: ["link", "set", "dev", "br0", "up"] },
      { field: "b", tool: "ip", netns: "c1", args: ["link", "set", "dev", "v0", "up"] },
      { field: "c", tool: "bridge", args: ["fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", "10.0.0.1"] },
      { field: "d", tool: "ip", args: ["link", "set", "dev", "br0", "alias", "x#y"] },
      { field: "e", tool: "bridge", args: ["vlan", "add", "vid", "10", "dev", "v0"] },
      { field: "f", tool: "bridge", args: ["vlan", "add", "vid", "11", "dev", "v0"] },
    ];
    expect(fusedScript(steps, undefined, stepArgv).script).not.toContain("-batch");
  });

  it("names the failing step of a batch by iproute2's line number, and the read-back as such", () => {
    const fused = fusedScript(bridgeSteps(), read(), stepArgv);
    expect(fused.failure(`Error: ipv4: Address already assigned.\nCommand failed -:1\n__netdev_failed_step=2\n`)).toEqual({
      index: 2,
      stderr: "Error: ipv4: Address already assigned.",
    });
    expect(fused.failure(`Cannot find device "br0"\nCommand failed -:2\n__netdev_failed_step=2\n`)).toEqual({ index: 3, stderr: 'Cannot find device "br0"' });
    expect(fused.failure(`Device "br0" does not exist.\nCommand failed -:3\n__netdev_failed_step=2\n`)).toEqual({
      index: "read",
      stderr: 'Device "br0" does not exist.',
    });
    expect(fused.failure(`sh: 1: cannot create /sys/class/net/br0/ifalias: Permission denied\n__netdev_failed_step=1\n`)).toEqual({
      index: 1,
      stderr: "sh: 1: cannot create /sys/class/net/br0/ifalias: Permission denied",
    });
    expect(fused.failure(`RTNETLINK answers: File exists\n__netdev_failed_step=0\n`)).toEqual({ index: 0, stderr: "RTNETLINK answers: File exists" });
    // An argument iproute2 rejects while parsing ends the batch without a line number: the line holding it.
    const master: Step[] = [
      ...bridgeSteps(),
      { field: "master", tool: "ip", args: ["link", "set", "dev", "br0", "master", "nosuch"] },
      { field: "up", tool: "ip", args: ["link", "set", "dev", "br0", "up"] },
    ];
    expect(fusedScript(master, read(), stepArgv).failure(`Error: argument "nosuch" is wrong: Device does not exist\n__netdev_failed_step=2\n`).index).toBe(4);
    // A namespace that cannot be entered fails the batch before any line: its first step.
    expect(
      fusedScript(bridgeSteps("c1"), read("c1"), stepArgv).failure(`Cannot open network namespace "c1": No such file or directory\n__netdev_failed_step=2\n`)
        .index,
    ).toBe(2);
    // No marker at all: the script never got to its end.
    expect(fused.failure("sh: killed").index).toBe(0);
  });
});

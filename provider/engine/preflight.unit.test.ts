import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FakeHost } from "../../test/support/fake-host";
import { deviceKinds } from "../kinds";
import { deviceEngine } from "../registry";
import { DeviceEngine } from "./engine";
import type { DeviceKind } from "./kind";
import { parseConnection } from "../ssh/connection";
import type { Host } from "./host-interface";
import { createNamespaceEngine } from "../objects/namespace/namespace";
import { createRouteEngine } from "../objects/route/route";
import { deviceNeeds, hostFacts, requireCapabilities, stepNeeds } from "./preflight";
import { capabilityMessage, type HostFacts, missingFor, type Needs } from "./preflight-needs";
import { parseProbe, probeScript, SIDE_EFFECT_FREE_KINDS } from "./preflight-probe";

/**
 * The pure parts of preflight: the probe script (run by a real sh against a scripted `ip`),
 * the parse of its answer, what is missing for a resource, the message, and the once-per-host
 * bookkeeping (against a host that only counts and answers).
 */

const scratch = mkdtempSync(path.join(tmpdir(), "netdev-preflight-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A host's PATH with only the tools the script may use, and an `ip` that answers like this machine's kernel (no dummy, no vrf). */
function scriptedHost(options: { netnsFails?: boolean; cacheTools?: boolean } = {}): { bin: string; log: string } {
  const bin = mkdtempSync(path.join(scratch, "bin-"));
  const log = path.join(bin, "ip.log");
  for (const tool of ["sed", "tr", "head", "cat", ...(options.cacheTools ? ["grep", "mkdir"] : [])])
    symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), path.join(bin, tool));
  writeFileSync(
    path.join(bin, "ip"),
    [
      "#!/bin/sh",
      `echo "$*" >> ${log}`,
      'case "$*" in',
      '  "-V") echo "ip utility, iproute2-6.1.0, libbpf 1.1.0";;',
      '  "-json link show dev lo") echo "[]";;',
      '  "-batch -") cat >/dev/null;;',
      `  "netns add "*) ${options.netnsFails ? 'echo "mount --make-shared /run/netns failed: Operation not permitted" >&2; exit 1' : "exit 0"};;`,
      '  *"type dummy"*|*"type vrf"*) echo "Error: Unknown device type." >&2; exit 2;;',
      '  *"type geneve"*) printf "RTNETLINK answers: Permission denied\\nsecond line\\n" >&2; exit 2;;',
      "esac",
    ].join("\n"),
  );
  writeFileSync(path.join(bin, "bridge"), "#!/bin/sh\n");
  // A host logged into as root, whoever runs the tests.
  writeFileSync(path.join(bin, "id"), "#!/bin/sh\necho 0\n");
  chmodSync(path.join(bin, "id"), 0o755);
  chmodSync(path.join(bin, "ip"), 0o755);
  chmodSync(path.join(bin, "bridge"), 0o755);
  return { bin, log };
}

function runScript(script: string, bin: string): string {
  return execFileSync("/bin/sh", ["-c", script, "sh", "ndpftest0001"], { encoding: "utf8", env: { PATH: bin } });
}

describe("the probe script, run by sh", () => {
  const kinds = [...SIDE_EFFECT_FREE_KINDS, "dummy", "vrf"];

  it("tries every kind in the throwaway namespace given as $1, removes it, and says what it found", () => {
    const { bin, log } = scriptedHost();
    const answer = parseProbe(runScript(probeScript(kinds, true), bin), kinds);
    expect(answer).toMatchObject({
      ipVersion: "ip utility, iproute2-6.1.0, libbpf 1.1.0",
      json: true,
      batch: true,
      tools: { wg: false, bridge: true, sysctl: false },
    });
    expect(answer.uid).toBe(0);
    expect(answer.netns).toEqual({ state: "present" });
    // Persistence's lines ran in the same script: no systemctl on this PATH, so no systemd as init.
    expect(answer.persist).toEqual({ systemd: undefined, networkd: "", networkdActive: "", networkManager: "", manageForeignRoutes: "" });
    expect(answer.kinds.get("bridge")).toEqual({ state: "present" });
    expect(answer.kinds.get("dummy")).toEqual({ state: "missing", answer: "Error: Unknown device type." });
    expect(answer.kinds.get("vrf")).toEqual({ state: "missing", answer: "Error: Unknown device type." });
    // Refused for another reason: not held against the kind (the create itself will say why).
    expect(answer.kinds.get("geneve")).toEqual({ state: "unknown", answer: "RTNETLINK answers: Permission denied second line" });
    const calls = readFileSync(log, "utf8").trim().split("\n");
    expect(calls.slice(0, 3)).toEqual(["-V", "-json link show dev lo", "-batch -"]);
    expect(calls).toContain("netns add ndpftest0001");
    expect(calls.at(-1)).toBe("netns del ndpftest0001");
    expect(calls).toContain("-n ndpftest0001 link add link ndpfparent name ndpfmacvlan type macvlan mode bridge");
    expect(calls).toContain("-n ndpftest0001 tuntap add name ndpftun mode tap");
    for (const kind of kinds)
      expect(
        calls.some((call) => call.startsWith("-n ndpftest0001 ") && call.includes(`ndpf${kind}`)),
        kind,
      ).toBe(true);
  });

  it("without the base, asks nothing but the kinds; without a parent kind, makes no parent", () => {
    const { bin, log } = scriptedHost();
    const answer = parseProbe(runScript(probeScript(["bond"], false), bin), ["bond"]);
    expect(answer.kinds.get("bond")).toEqual({ state: "present" });
    expect(answer.ipVersion).toBeUndefined();
    expect(answer.persist).toBeUndefined();
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
      "netns del ndpftest0001",
      "netns add ndpftest0001",
      "-n ndpftest0001 link add name ndpfbond type bond",
      "netns del ndpftest0001",
    ]);
  });

  it("a host where no namespace can be made: every kind unknown, with the reason", () => {
    const { bin } = scriptedHost({ netnsFails: true });
    const answer = parseProbe(runScript(probeScript(["dummy"], true), bin), ["dummy"]);
    expect(answer.kinds.get("dummy")).toEqual({
      state: "unknown",
      answer: "no throwaway namespace to try it in: mount --make-shared /run/netns failed: Operation not permitted",
    });
    expect(answer.netns).toEqual({ state: "missing", answer: "mount --make-shared /run/netns failed: Operation not permitted" });
  });
});

describe("the probe's memory of the kernel, per boot and login", () => {
  it("keeps what was made; a later probe that needs only known kinds makes no namespace; a failure is tried again", () => {
    const { bin, log } = scriptedHost({ cacheTools: true });
    const cache = mkdtempSync(path.join(scratch, "cache-"));
    const dir = path.join(cache, "netdev");
    const kinds = [...SIDE_EFFECT_FREE_KINDS];
    const first = parseProbe(runScript(probeScript(kinds, true, { kinds: ["bridge"], namespaces: true }, dir), bin), ["bridge"]);
    expect(first.kinds.get("bridge")).toEqual({ state: "present" });
    const [file] = readdirSync(dir);
    expect(file).toMatch(/^probe-[0-9a-f-]+-0$/);
    const kept = readFileSync(path.join(dir, file!), "utf8").trim().split("\n");
    expect(kept).toContain("netns ok");
    expect(kept).toContain("kind veth ok");
    // Failures are not kept: geneve was refused, vrf (tried below) is missing.
    expect(kept.some((line) => line.includes("geneve"))).toBe(false);

    writeFileSync(log, "");
    const again = parseProbe(runScript(probeScript(kinds, false, { kinds: ["bridge", "vxlan"], namespaces: true }, dir), bin), ["bridge", "vxlan"]);
    expect(readFileSync(log, "utf8"), "no namespace, no kind tried").toBe("");
    expect(again.netns).toEqual({ state: "present" });
    expect(again.kinds.get("vxlan")).toEqual({ state: "present" });
    // Everything an earlier probe made is answered too.
    expect(again.kinds.get("macvlan")).toEqual({ state: "present" });

    const vrf = parseProbe(runScript(probeScript(["vrf"], false, { kinds: ["vrf"], namespaces: true }, dir), bin), ["vrf"]);
    expect(vrf.kinds.get("vrf")).toEqual({ state: "missing", answer: "Error: Unknown device type." });
    expect(readFileSync(log, "utf8")).toContain("netns add ndpftest0001");
    writeFileSync(log, "");
    runScript(probeScript(["vrf"], false, { kinds: ["vrf"], namespaces: true }, dir), bin);
    expect(readFileSync(log, "utf8"), "tried again").toContain("type vrf");
  });

  it("takes from the file only lines of the answers' own form", () => {
    const { bin } = scriptedHost({ cacheTools: true });
    const dir = path.join(mkdtempSync(path.join(scratch, "cache-")), "netdev");
    runScript(probeScript(["bridge"], false, { kinds: ["bridge"], namespaces: true }, dir), bin);
    const [file] = readdirSync(dir);
    writeFileSync(path.join(dir, file!), ["kind veth ok", "kind evil; reboot ok", "uid 0", "kind Bad ok", "netns ok"].join("\n"));
    const out = runScript(probeScript([], false, { kinds: [], namespaces: true }, dir), bin);
    expect(out.trim().split("\n")).toEqual(["kind veth ok", "netns ok"]);
  });
});

describe("parseProbe", () => {
  it("reads persistence's lines (systemd, networkd, NetworkManager, ManageForeignRoutes) and what refused the throwaway namespace", () => {
    const answer = parseProbe(
      [
        "uid 0",
        "systemd=systemd 252 (252.39-1~deb12u2)",
        "networkd=disabled",
        "networkdActive=inactive",
        "nm=active",
        "foreign=no",
        'netns no Failed to create a new network namespace "ndpf1": Invalid argument',
      ].join("\n"),
      ["bridge"],
    );
    expect(answer.persist).toEqual({
      systemd: "systemd 252 (252.39-1~deb12u2)",
      networkd: "disabled",
      networkdActive: "inactive",
      networkManager: "active",
      manageForeignRoutes: "no",
    });
    expect(answer.netns?.state).toBe("missing");
    // A refusal for another reason is not held against namespaces.
    expect(parseProbe("netns no RTNETLINK answers: File exists", []).netns).toEqual({ state: "unknown", answer: "RTNETLINK answers: File exists" });
  });

  it("reads an old iproute2, a non-root login and a missing tun driver", () => {
    const answer = parseProbe(
      [
        "ip ip utility, iproute2-ss161212",
        "json no",
        "batch ok",
        "tool wg no",
        "uid 1000",
        "capeff 0000000000000000",
        "kind tun no open: No such file or directory",
        "kind stray ok",
      ].join("\n"),
      ["tun", "bridge"],
    );
    expect(answer).toMatchObject({
      ipVersion: "ip utility, iproute2-ss161212",
      json: false,
      batch: true,
      tools: { wg: false },
      uid: 1000,
      capEff: "0000000000000000",
    });
    expect(answer.kinds).toEqual(
      new Map([
        ["tun", { state: "missing", answer: "open: No such file or directory" }],
        // Not asked, but answered (an earlier probe's, recalled on the host): kept.
        ["stray", { state: "present" }],
        ["bridge", { state: "unknown", answer: "no answer" }],
      ]),
    );
  });
});

const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  ipVersion: "ip utility, iproute2-6.1.0",
  json: true,
  batch: true,
  tools: { wg: true, bridge: true, sysctl: true },
  uid: 0,
  capEff: "000001ffffffffff",
  kinds: new Map([["bridge", { state: "present" }]]),
  ...over,
});
const dummy: Needs = { resourceType: "Dummy", kernelKind: { kind: "dummy", feature: "dummy" }, tools: [] };

describe("what is missing, and the message", () => {
  it("nothing, on a host with all a resource needs; an unknown kind is not held against it", () => {
    expect(missingFor(dummy, facts({ kinds: new Map([["dummy", { state: "present" }]]) }))).toEqual([]);
    expect(missingFor(dummy, facts({ kinds: new Map([["dummy", { state: "unknown", answer: "no answer" }]]) }))).toEqual([]);
  });

  it("the kernel's kind, with its option, module and packages; the other kinds the host lacks in one line", () => {
    const host = facts({
      kinds: new Map([
        ["dummy", { state: "missing", answer: "Error: Unknown device type." }],
        ["vlan", { state: "missing", answer: "Error: Unknown device type." }],
        ["bridge", { state: "present" }],
      ]),
    });
    const missing = missingFor(dummy, host);
    expect(missing.map((item) => item.what)).toEqual(["kernel support for dummy"]);
    const message = capabilityMessage("root@h1:22", "Dummy d0 on root@h1:22", dummy, missing, host);
    expect(message.split("\n")[0]).toBe(
      "kernel on root@h1:22 lacks dummy support, which Dummy d0 on root@h1:22 needs; nothing was changed there. Missing on root@h1:22:",
    );
    expect(message).toMatch(
      /- kernel support for dummy \(the host answered: Error: Unknown device type\.\): a kernel with CONFIG_DUMMY \(module dummy\): load it with `modprobe dummy`/,
    );
    expect(message).toMatch(/Debian: linux-image-\*, Ubuntu: linux-modules-extra-\$\(uname -r\), RHEL\/Fedora: kernel-modules or kernel-modules-extra/);
    expect(message.split("\n").at(-1)).toBe("  The kernel there also lacks: 8021q.");
  });

  it("tools, iproute2 features and the right to manage devices, each with how to get it", () => {
    const wireguard: Needs = { resourceType: "WireguardInterface", kernelKind: { kind: "wireguard", feature: "wireguard" }, tools: ["wg"] };
    const host = facts({ json: false, batch: false, tools: { wg: false }, uid: 1000, capEff: "0000000000000000", ipVersion: "ip utility, iproute2-ss161212" });
    const missing = missingFor(wireguard, host);
    expect(missing.map((item) => item.what)).toEqual([
      "the right to manage network devices",
      "`ip -json` (iproute2's JSON output)",
      "`ip -batch -` (iproute2's batch mode)",
      "the `wg` tool",
    ]);
    const message = capabilityMessage("admin@h9:22", "WireguardInterface wg0 on admin@h9:22", wireguard, missing, host);
    expect(message.split("\n")[0]).toMatch(/^admin@h9:22 lacks what WireguardInterface wg0 on admin@h9:22 needs; nothing was changed there/);
    expect(message).toMatch(/apt install wireguard-tools; RHEL\/Fedora: dnf install wireguard-tools/);
    expect(message).toMatch(/the host answered: ip utility, iproute2-ss161212\): install a newer iproute2/);
    expect(message).toMatch(/logged in as uid 1000, without CAP_NET_ADMIN/);
  });

  it("named namespaces: by what refused them, and not twice for a login that may not manage the network at all", () => {
    const namespace: Needs = { resourceType: "NetworkNamespace", tools: [], namespaces: true };
    const noKernel = missingFor(namespace, facts({ netns: { state: "missing", answer: 'Failed to create a new network namespace "x": Invalid argument' } }));
    expect(noKernel).toEqual([
      {
        what: "named network namespaces (`ip netns`)",
        answer: 'Failed to create a new network namespace "x": Invalid argument',
        remedy: expect.stringMatching(/CONFIG_NET_NS/),
      },
    ]);
    const refused = { state: "missing" as const, answer: "mount --make-shared /run/netns failed: Operation not permitted" };
    // Root in a container without CAP_SYS_ADMIN: namespaces alone are missing.
    expect(missingFor(namespace, facts({ netns: refused })).map((item) => item.remedy)).toEqual([expect.stringMatching(/CAP_SYS_ADMIN.*sudo: true/)]);
    expect(missingFor(namespace, facts({ netns: refused, uid: 1000, capEff: "0" })).map((item) => item.what)).toEqual(["the right to manage network devices"]);
    expect(missingFor(namespace, facts({ netns: { state: "missing", answer: "BusyBox v1.35.0 multi-call binary. Usage: ip" } }))[0]!.remedy).toMatch(
      /install iproute2/,
    );
    // Only resources that make or enter namespaces need them.
    expect(missingFor(dummy, facts({ netns: refused }))).toEqual([]);
  });

  it("objects' needs come from their commands, as kinds' do: a route or VTEP in a namespace needs namespaces, a namespace does", () => {
    const route = (netns?: string) => stepNeeds("Route", [{ tool: "ip", netns, args: ["-4", "route", "add", "default", "via", "10.0.0.1"] }]);
    expect(route()).toEqual({ resourceType: "Route", tools: [] });
    expect(route("web")).toEqual({ resourceType: "Route", tools: [], namespaces: true });
    expect(stepNeeds("NetworkNamespace", [{ tool: "ip", args: ["netns", "add", "web"] }]).namespaces).toBe(true);
    expect(stepNeeds("VxlanFloodLists", [{ tool: "bridge", args: ["fdb"] }])).toEqual({ resourceType: "VxlanFloodLists", tools: ["bridge"] });
  });

  it("a non-root login with CAP_NET_ADMIN may manage devices", () => {
    expect(missingFor(dummy, facts({ uid: 1000, capEff: "0000000000001000" }))).toEqual([]);
  });

  it("a resource's tools come from its own commands: wg for WireGuard, none beyond ip for a bridge", () => {
    const needsOf = (type: string) => {
      const engine = deviceEngine(type);
      const inputs = engine.parse(engine.check({ connection, name: "x0", ...engine.kind.example }).inputs);
      return deviceNeeds(engine.kind, engine.createSteps(inputs, "0123456789ab"));
    };
    expect(needsOf("WireguardInterface")).toEqual({
      resourceType: "WireguardInterface",
      kernelKind: { kind: "wireguard", feature: "wireguard" },
      tools: ["wg"],
    });
    expect(needsOf("Bridge").tools).toEqual([]);
    expect(needsOf("Gre").kernelKind).toEqual({ kind: "gre", feature: "GRE (ip_gre)" });
  });
});

const connection = {
  host: "192.0.2.9",
  hostKey: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  password: "pw",
};

/** A host that answers every probe from the scripted `ip`, counting the probes. */
function countingHost(address: string, options: { failFirst?: boolean } = {}) {
  const { bin } = scriptedHost();
  const scripts: string[] = [];
  let fail = options.failFirst === true;
  const host = {
    connection: parseConnection({ ...connection, host: address }),
    endpoint: `root@${address}:22`,
    async read(step: { args: string[] }): Promise<string> {
      scripts.push(step.args[1]!);
      if (fail) {
        fail = false;
        throw new Error(`cannot connect to root@${address}:22: ECONNREFUSED`);
      }
      return runScript(step.args[1]!, bin);
    },
  };
  return { host: host as unknown as Host, scripts };
}

describe("once per host", () => {
  it("operations at once share one probe; a kind with side effects is probed when first needed, alone", async () => {
    const { host, scripts } = countingHost("192.0.2.7");
    const all = await Promise.all([hostFacts(host, ["bridge"]), hostFacts(host, ["veth"]), hostFacts(host, ["vrf"])]);
    expect(scripts).toHaveLength(1);
    expect(all[2]!.kinds.get("vrf")).toEqual({ state: "missing", answer: "Error: Unknown device type." });
    // bonding loads a bond0 into every namespace: not tried until a Bond asks.
    expect(scripts[0]).not.toContain("type bond");
    await hostFacts(host, ["bond", "bridge"]);
    expect(scripts).toHaveLength(2);
    expect(scripts[1]).toContain("type bond");
    expect(scripts[1]).not.toContain("ip -V");
    await hostFacts(host, ["bond", "bridge", "macvlan"]);
    expect(scripts).toHaveLength(2);
  });

  it("a caller that needs no kernel kind and no namespace gets the base probe alone; the first that does has the kinds tried then, once", async () => {
    const { host, scripts } = countingHost("192.0.2.6");
    const bridgeTool: Needs = { resourceType: "VxlanFloodLists", tools: ["bridge"] };
    await requireCapabilities(host, bridgeTool, "VxlanFloodLists vxlan42 (member a) on root@192.0.2.6:22");
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toContain("ip -V");
    expect(scripts[0], "no throwaway namespace").not.toContain("netns add");
    const inNamespace: Needs = { resourceType: "Route", tools: [], namespaces: true };
    const [route, bridge] = await Promise.all([hostFacts(host, [], inNamespace.namespaces), hostFacts(host, ["bridge"])]);
    expect(scripts).toHaveLength(2);
    expect(scripts[1]).toContain("netns add");
    expect(scripts[1]).toContain("type bridge");
    expect(scripts[1]).not.toContain("ip -V");
    expect(route.netns).toEqual({ state: "present" });
    expect(bridge.kinds.get("bridge")).toEqual({ state: "present" });
    await hostFacts(host, ["veth"], true);
    expect(scripts).toHaveLength(2);
  });

  it("a resource whose needs are missing is refused with the message; a probe that got no answer is asked again", async () => {
    const { host, scripts } = countingHost("192.0.2.8", { failFirst: true });
    await expect(requireCapabilities(host, dummy, "Dummy d0 on root@192.0.2.8:22")).rejects.toThrow(
      /^Dummy d0 on root@192.0.2.8:22: checking what root@192.0.2.8:22 offers failed: cannot connect/,
    );
    await expect(requireCapabilities(host, dummy, "Dummy d0 on root@192.0.2.8:22")).rejects.toThrow(
      /^kernel on root@192.0.2.8:22 lacks dummy support, which Dummy d0 on root@192.0.2.8:22 needs; /,
    );
    const bridge: Needs = { resourceType: "Bridge", kernelKind: { kind: "bridge", feature: "bridge" }, tools: [] };
    await expect(requireCapabilities(host, bridge, "Bridge b0 on root@192.0.2.8:22")).resolves.toBeUndefined();
    expect(scripts).toHaveLength(2);
  });
});

describe("the engine's call points", () => {
  it("a Route on a host whose ip has no -json, and a NetworkNamespace where namespaces are refused, fail before anything runs there", async () => {
    const old = new FakeHost();
    old.oldIproute2 = true;
    await expect(createRouteEngine(() => old).create({ connection, destination: "10.9.0.0/24", dev: "lo" })).rejects.toThrow(
      /^root@fake:22 lacks what Route 10\.9\.0\.0\/24 dev lo on root@fake:22 needs; nothing was changed there\. Missing on root@fake:22:\n {2}- `ip -json`/,
    );
    expect(old.commands, "the probe alone").toHaveLength(1);

    const confined = new FakeHost();
    confined.netnsRefusal = "mount --make-shared /run/netns failed: Operation not permitted";
    await expect(createNamespaceEngine(() => confined).create({ connection, name: "web" })).rejects.toThrow(
      /^root@fake:22 lacks what NetworkNamespace web on root@fake:22 needs; nothing was changed there\. Missing on root@fake:22:\n {2}- named network namespaces \(`ip netns`\) \(the host answered: mount --make-shared/,
    );
    // A route inside a namespace needs them too; one in the host's own does not.
    const routes = createRouteEngine(() => confined);
    await expect(routes.create({ connection, netns: "web", destination: "default", via: "10.0.0.1" })).rejects.toThrow(/named network namespaces/);
    await routes.create({ connection, destination: "10.9.0.0/24", dev: "lo" });
    expect(confined.namespaceNames()).toEqual([]);
    expect(
      confined.commands.filter((command) => command.startsWith("sh -c 'echo \"ip")),
      "one probe for the three",
    ).toHaveLength(1);
  });

  it("persist's check and the capability check share the one probe: a persisted run costs one probe round trip per host", async () => {
    const host = new FakeHost();
    const bridges = new DeviceEngine(deviceKinds.Bridge as unknown as DeviceKind, () => host);
    const namespaces = createNamespaceEngine(() => host);
    const routes = createRouteEngine(() => host);
    const persisted = { connection: { ...connection, preflight: true }, persist: "networkd" };
    // What `pulumi up` runs: every resource's check (with preflight: true, its capabilities too), then the creates.
    const checked = [
      bridges.check({ ...persisted, name: "br0" }).inputs,
      namespaces.check({ ...persisted, name: "web" }).inputs,
      routes.check({ ...persisted, netns: "web", destination: "default", dev: "lo" }).inputs,
    ];
    const engines = [bridges, namespaces, routes];
    expect(await Promise.all(checked.map((inputs, i) => engines[i]!.preflight!(inputs)))).toEqual([[], [], []]);
    expect(host.roundTrips, "one probe answered every check").toBe(1);
    for (const [i, inputs] of checked.entries()) await engines[i]!.create(inputs);
    // No other command asked about the host: the one probe carried persistence's questions too.
    const probes = host.commands.filter((command) => /ip -V|systemctl|try\(\) \{/.test(command));
    expect(probes).toHaveLength(1);
    expect(probes[0]).toContain("ip -V");
    expect(probes[0]).toContain("systemctl --version");
  });

  it("a host without systemd: persist is refused at check, from the same probe", async () => {
    const host = new FakeHost();
    host.support.systemd = "";
    const routes = createRouteEngine(() => host);
    const failures = await routes.preflight(routes.check({ connection, destination: "default", dev: "lo", persist: "networkd" }).inputs);
    expect(failures).toEqual([{ property: "persist", reason: expect.stringMatching(/^persist: "networkd" needs systemd as the init system on root@fake:22/) }]);
    expect(host.commands).toHaveLength(1);
  });

  it("a create on a host whose kernel lacks the kind runs nothing there but the probe; preflight: true reports it at check", async () => {
    const host = new FakeHost();
    host.missingKinds.add("dummy");
    const engine = new DeviceEngine(deviceKinds.Dummy as unknown as DeviceKind, () => host);
    await expect(engine.create({ connection, name: "d0" })).rejects.toThrow(
      /^kernel on root@fake:22 lacks dummy support, which Dummy d0 on root@fake:22 needs; /,
    );
    expect(host.commands).toHaveLength(1);
    expect(host.linkNames()).toEqual([]);
    expect(await engine.preflight(engine.check({ connection, name: "d0" }).inputs)).toEqual([]);
    const failures = await engine.preflight(engine.check({ connection: { ...connection, preflight: true }, name: "d0" }).inputs);
    expect(failures).toEqual([{ property: "connection", reason: expect.stringMatching(/^kernel on root@fake:22 lacks dummy support/) }]);
    expect(host.commands, "the facts were kept: no second probe").toHaveLength(1);
  });
});

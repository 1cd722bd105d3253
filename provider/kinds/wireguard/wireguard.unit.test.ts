import { describe, expect, it } from "vitest";
import { deviceEngine, engineFor } from "../../registry";
import { HostShell } from "../../engine/host";
import type { Step } from "../../engine/kind";
import { HOST_KEY_DIFFERS, wireguardPublicKey } from "./wireguard";

/** No host: validation, normalization, key derivation, and where the private key goes in the steps. */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, password: "pw" };
// The example pair from wg(8)'s man page, so the derivation is checked against `wg pubkey`.
const KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const PUB = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
const OTHER_KEY = "MVrz/lRDuKyZ64pfr8VxAZPYFUhTazxIqkZVzNcxwr4=";
const PEER_A = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const PEER_B = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const engine = deviceEngine("WireguardInterface");
const base = { connection, name: "wg0", privateKey: KEY };

function stepsOf(inputs: Record<string, unknown>, actual?: Record<string, unknown>, previous?: Record<string, unknown>): Step[] {
  const { failures, inputs: checked } = engine.check({ ...base, ...inputs });
  expect(failures).toEqual([]);
  const parsed = engine.parse(checked);
  return actual ? engine.kind.update(parsed as never, actual, previous) : engine.createSteps(parsed, "0123456789ab");
}

/** Every argv a step list would run, flattened, and the stdin each carries. */
function argvText(steps: Step[]): string {
  const host = new HostShell(engine.parse(engine.check(base).inputs).connection);
  return steps.map((s) => host.argv(s).join(" ")).join("\n");
}

describe("WireguardInterface without a host", () => {
  it("derives the public key as `wg pubkey` does", () => {
    expect(wireguardPublicKey(KEY)).toBe(PUB);
    expect(wireguardPublicKey(`${KEY}\n`)).toBe(PUB);
  });

  it("refuses bad inputs naming the field, never quoting a private key", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ privateKey: "not-a-key" }, "privateKey"],
      [{ privateKey: KEY.slice(0, 43) }, "privateKey"],
      [{ privateKey: Buffer.alloc(33).toString("base64") }, "privateKey"],
      [{ listenPort: 0 }, "listenPort"],
      [{ listenPort: 65536 }, "listenPort"],
      [{ fwmark: -1 }, "fwmark"],
      [{ peers: [{ publicKey: "abc", allowedIps: [] }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, endpoint: "example.com:51820" }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, endpoint: "10.0.0.1" }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, endpoint: "fd00::1:51820" }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, endpoint: "10.0.0.1:0" }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, allowedIps: ["10.0.0.1/24"] }] }, "peers"],
      [{ peers: [{ publicKey: PEER_A, persistentKeepalive: 65536 }] }, "peers"],
      // Not supported (yet): refused, so no one believes it is set. Nested unknown keys are named by themselves.
      [{ peers: [{ publicKey: PEER_A, presharedKey: KEY }] }, "presharedKey"],
      [{ peers: [{ publicKey: PEER_A }, { publicKey: PEER_A }] }, "peers"],
      [{ peers: [{ publicKey: PUB }] }, "peers"],
    ];
    for (const [patch, field] of cases) {
      const { failures } = engine.check({ ...base, ...patch });
      expect(
        failures.map((f) => f.property),
        JSON.stringify(patch),
      ).toContain(field);
      for (const f of failures) expect(f.reason).toContain(field);
    }
    // The malformed key itself is never echoed, by the engine or at the provider boundary.
    const almost = `${KEY.slice(0, 40)}zzz=`;
    for (const e of [engine, engineFor("WireguardInterface")]) {
      const { failures } = e.check({ ...base, privateKey: almost });
      expect(failures).toHaveLength(1);
      expect(failures[0]!.reason).not.toContain(almost.slice(0, 20));
    }
    expect(() => engine.parse({ ...base, privateKey: almost })).toThrow(/privateKey/);
    try {
      engine.parse({ ...base, privateKey: almost });
    } catch (error) {
      expect((error as Error).message).not.toContain(almost.slice(0, 20));
    }
  });

  it("normalizes peers so the order written does not matter", () => {
    const { inputs } = engine.check({
      ...base,
      privateKey: `${KEY}\n`,
      peers: [
        { publicKey: PEER_A, endpoint: "[FD00:0::1]:51820", allowedIps: ["10.9.0.0/16", "10.0.0.2/32", "10.0.0.2/32"], persistentKeepalive: 0 },
        { publicKey: PEER_B, endpoint: "192.0.2.1:51820", allowedIps: ["fd00::/64"], persistentKeepalive: 25 },
      ],
    });
    expect(inputs.privateKey).toBe(KEY);
    expect(inputs.peers).toEqual([
      { publicKey: PEER_B, endpoint: "192.0.2.1:51820", allowedIps: ["fd00::/64"], persistentKeepalive: 25 },
      { publicKey: PEER_A, endpoint: "[fd00::1]:51820", allowedIps: ["10.0.0.2/32", "10.9.0.0/16"] },
    ]);
  });

  it("create: the private key travels only in the stdin of one `wg set … private-key /proc/self/fd/0` step", () => {
    const steps = stepsOf({
      listenPort: 51820,
      fwmark: 7,
      peers: [{ publicKey: PEER_A, endpoint: "192.0.2.1:51820", allowedIps: ["10.0.0.2/32"], persistentKeepalive: 25 }],
    });
    expect(steps[0]!.args).toEqual(["link", "add", "name", "wg0", "type", "wireguard"]);
    const withStdin = steps.filter((s) => s.stdin !== undefined);
    expect(withStdin).toHaveLength(1);
    expect(withStdin[0]).toMatchObject({ field: "privateKey", tool: "wg", args: ["set", "wg0", "private-key", "/proc/self/fd/0"], stdin: `${KEY}\n` });
    const text = argvText(steps);
    expect(text).not.toContain(KEY);
    expect(text).toContain("wg set wg0 listen-port 51820");
    expect(text).toContain("wg set wg0 fwmark 7");
    expect(text).toContain(`wg set wg0 peer ${PEER_A} endpoint 192.0.2.1:51820 allowed-ips 10.0.0.2/32 persistent-keepalive 25`);
    // The key is configured before the device comes up and its addresses are set.
    expect(steps.findIndex((s) => s.field === "privateKey")).toBeLessThan(steps.findIndex((s) => s.field === "up"));
    // In a namespace, wg runs through `ip netns exec`, stdin still the key's only way.
    const inNs = stepsOf({ netns: "ns1" });
    expect(argvText(inNs)).toContain("ip netns exec ns1 wg set wg0 private-key /proc/self/fd/0");
    expect(argvText(inNs)).not.toContain(KEY);
  });

  it("update: a peer whose endpoint the inputs drop is removed and set again (wg cannot unset an endpoint); a roamed one is left alone", () => {
    const withEndpoint = { publicKey: PEER_A, endpoint: "192.0.2.1:51820", allowedIps: ["10.0.0.2/32"] };
    const without = { publicKey: PEER_A, allowedIps: ["10.0.0.2/32"] };
    // The read reports an endpoint only where the new inputs set one: the host's is hidden here.
    const actual = { privateKey: KEY, listenPort: 51820, fwmark: 0, peers: [without] };
    const steps = stepsOf({ listenPort: 51820, peers: [without] }, actual, { peers: [withEndpoint] });
    expect(steps.map((s) => s.args)).toEqual([
      ["set", "wg0", "peer", PEER_A, "remove", "peer", PEER_A, "allowed-ips", "10.0.0.2/32", "persistent-keepalive", "off"],
    ]);
    // Never configured (an endpoint learnt from a handshake): nothing to clear, no churn.
    expect(stepsOf({ listenPort: 51820, peers: [without] }, actual, { peers: [without] })).toEqual([]);
    expect(stepsOf({ listenPort: 51820, peers: [without] }, actual)).toEqual([]);
  });

  it("update: only what differs; a new key again only on stdin; peers added, changed, removed in one step", () => {
    const actual = {
      privateKey: KEY,
      listenPort: 51820,
      fwmark: 0,
      peers: [
        { publicKey: PEER_A, endpoint: "192.0.2.1:51820", allowedIps: ["10.0.0.2/32"] },
        { publicKey: PEER_B, allowedIps: ["10.0.0.3/32"] },
      ],
    };
    expect(stepsOf({ listenPort: 51820, peers: actual.peers }, actual)).toEqual([]);
    const steps = stepsOf(
      { privateKey: OTHER_KEY, listenPort: 51821, peers: [{ publicKey: PEER_A, endpoint: "192.0.2.9:51820", allowedIps: ["10.0.0.2/32"] }] },
      actual,
    );
    expect(steps.map((s) => s.field)).toEqual(["privateKey", "listenPort", "peers"]);
    expect(steps[0]!.stdin).toBe(`${OTHER_KEY}\n`);
    expect(steps.filter((s) => s.stdin !== undefined)).toHaveLength(1);
    const text = argvText(steps);
    expect(text).not.toContain(OTHER_KEY);
    expect(text).not.toContain(KEY);
    expect(steps[2]!.args).toEqual([
      "set",
      "wg0",
      "peer",
      PEER_B,
      "remove",
      "peer",
      PEER_A,
      "endpoint",
      "192.0.2.9:51820",
      "allowed-ips",
      "10.0.0.2/32",
      "persistent-keepalive",
      "off",
    ]);
    // A key that differs on the host (read reports HOST_KEY_DIFFERS) is set again.
    expect(stepsOf({}, { ...actual, privateKey: HOST_KEY_DIFFERS }).map((s) => s.field)).toEqual(["privateKey"]);
    // Omitting peers leaves every peer as it is (an overlay's WireguardPeerLists takes them over); [] removes them.
    expect(stepsOf({ listenPort: 51820 }, actual, { peers: [actual.peers[1]] })).toEqual([]);
    expect(stepsOf({ listenPort: 51820, peers: [] }, actual, { peers: actual.peers }).map((s) => s.args)).toEqual([
      ["set", "wg0", "peer", PEER_A, "remove", "peer", PEER_B, "remove"],
    ]);
  });

  it("declares privateKey secret and publicKey an extra output", () => {
    expect(engine.kind.secretFields).toEqual(["privateKey"]);
    expect(Object.keys(engine.kind.outputs?.fields ?? {})).toEqual(["publicKey"]);
    expect(engine.kind.replaceOn).toEqual([]);
    expect(engine.diff({ ...engine.check(base).inputs }, engine.check({ ...base, privateKey: OTHER_KEY }).inputs)).toMatchObject({
      changes: true,
      replaces: [],
    });
  });
});

import { describe, expect, it } from "vitest";
import { DeviceEngine, type ParsedInputs } from "../engine/engine";
import type { DeviceKind } from "../engine/kind";
import { deviceKinds } from "../kinds";
import { keyfilePath, profileUuid, renderKeyfile } from "./networkmanager";

/**
 * NetworkManager keyfiles as `persist: "networkmanager"` renders them (pure): which devices get
 * one, what it says, and what falls back to the oneshot unit. That NetworkManager reads them,
 * leaves the live devices alone when they are loaded and makes the devices at boot is the lab's
 * (networkmanager.test.ts).
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
const TOKEN = "0123456789ab";

function render(type: keyof typeof deviceKinds, extra: Record<string, unknown>) {
  const engine = new DeviceEngine(deviceKinds[type] as unknown as DeviceKind);
  const inputs = engine.parse({ connection, ownerKey: TOKEN, persist: "networkmanager", ...extra }) as ParsedInputs;
  return engine.persistence(inputs, TOKEN);
}

const contentOf = (files: ReturnType<typeof render>, path: string) => {
  const file = files.find((artifact) => artifact.path === path);
  return file && "content" in file ? file : undefined;
};

describe("keyfiles", () => {
  it("a dummy with addresses: a 0600 profile that autoconnects on its name with exactly them, and udev's .link for the owner tag", () => {
    const files = render("Dummy", { name: "svc0", addresses: ["10.1.0.1/24", "fd00::1/64", "10.1.1.1/32"] });
    expect(files.map((file) => file.path)).toEqual([keyfilePath("svc0"), "/etc/systemd/network/10-pulumi-netdev-svc0.link"]);
    const profile = contentOf(files, keyfilePath("svc0"))!;
    expect(profile.mode).toBe("0600");
    expect(profile.content).toBe(
      [
        "# Written by pulumi-netdev for Dummy svc0 (owner netdev#0123456789ab).",
        "# `pulumi up` rewrites it, delete removes it, `pulumi refresh` reports edits; do not edit by hand.",
        "[connection]",
        "id=pulumi-netdev-svc0",
        `uuid=${profileUuid(TOKEN, "svc0")}`,
        "type=dummy",
        "interface-name=svc0",
        "autoconnect=true",
        "",
        "[ipv4]",
        "method=manual",
        "address1=10.1.0.1/24",
        "address2=10.1.1.1/32",
        "",
        "[ipv6]",
        "method=manual",
        "addr-gen-mode=eui64",
        "address1=fd00::1/64",
        "",
      ].join("\n"),
    );
    expect(contentOf(files, "/etc/systemd/network/10-pulumi-netdev-svc0.link")!.content).toContain("Alias=netdev#0123456789ab\n");
  });

  it("without addresses: IPv4 off, IPv6 link-local only (as the kernel gives a device ip made)", () => {
    const profile = contentOf(render("Dummy", { name: "d0" }), keyfilePath("d0"))!.content;
    expect(profile).toContain("[ipv4]\nmethod=disabled\n");
    expect(profile).toContain("[ipv6]\nmethod=link-local\naddr-gen-mode=eui64\n");
  });

  it("a bridge says every setting as ip left it: STP off unless asked (NetworkManager's default is on), timers in seconds", () => {
    const plain = contentOf(render("Bridge", { name: "br0" }), keyfilePath("br0"))!.content;
    expect(plain).toContain(
      "[bridge]\nstp=false\nforward-delay=15\nhello-time=2\nmax-age=20\nageing-time=300\nvlan-filtering=false\nvlan-default-pvid=1\nmulticast-snooping=true\n",
    );
    const tuned = contentOf(
      render("Bridge", { name: "br0", stp: true, forwardDelay: 400, vlanFiltering: true, vlanDefaultPvid: 0 }),
      keyfilePath("br0"),
    )!.content;
    expect(tuned).toContain("stp=true\nforward-delay=4\n");
    expect(tuned).toContain("vlan-filtering=true\nvlan-default-pvid=0\n");
  });

  it("the profile's UUID is stable for the resource and a valid name-based UUID", () => {
    expect(profileUuid(TOKEN, "br0")).toBe(profileUuid(TOKEN, "br0"));
    expect(profileUuid(TOKEN, "br0")).not.toBe(profileUuid("ba9876543210", "br0"));
    expect(profileUuid(TOKEN, "br0")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("renders booleans as true/false and refuses a value a keyfile would not read back", () => {
    expect(renderKeyfile([["connection", { autoconnect: true, id: "x", skipped: undefined }]])).toBe("[connection]\nautoconnect=true\nid=x\n");
    expect(() => renderKeyfile([["connection", { id: "a\\b" }]])).toThrow(/not a value a keyfile reads back/);
    expect(() => renderKeyfile([["connection", { id: "a\nb" }]])).toThrow(/not a value a keyfile reads back/);
  });
});

describe("what the oneshot unit persists instead", () => {
  const unitOnly = (files: ReturnType<typeof render>) => files.every((file) => !file.path.startsWith("/etc/NetworkManager/"));

  it.each([
    ["a device kept down (activating a profile brings it up)", "Dummy", { name: "d0", up: false }],
    ["a member (a profile names its master by kind)", "Dummy", { name: "d0", master: "br0" }],
    ["a device in a namespace", "Dummy", { name: "d0", netns: "c1" }],
    ["a device with an MTU", "Dummy", { name: "d0", mtu: 1400 }],
    ["a device with a MAC address", "Bridge", { name: "br0", macAddress: "02:00:00:00:00:01" }],
    ["a bridge timer that is no whole second", "Bridge", { name: "br0", forwardDelay: 450 }],
    ["a bridge timer outside NetworkManager's range", "Bridge", { name: "br0", maxAge: 5000 }],
    ["a kind without a keyfile description", "Vrf", { name: "vrf0", table: 10 }],
  ] as const)("%s", (_what, type, extra) => {
    const files = render(type, extra);
    expect(unitOnly(files)).toBe(true);
    expect(files.some((file) => file.path.startsWith("/etc/systemd/system/pulumi-netdev-"))).toBe(true);
  });
});

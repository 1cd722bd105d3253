import { createHash } from "node:crypto";
import type { CommonFields } from "../engine/common-fields";
import { type Artifact, header, NETWORKMANAGER_DIR } from "./files";
import { aliasLinkArtifact, type Ini } from "./networkd";

/**
 * How a kind is described to NetworkManager (`persist: "networkmanager"`): the profile's
 * connection type and the kind's own setting sections (a bridge's `[bridge]`). A kind returns
 * undefined where a keyfile cannot say what `ip` made (the device is then persisted by a oneshot
 * unit).
 */
export interface NetworkManagerDevice {
  type: string;
  sections?: Ini;
}

export const keyfilePath = (name: string) => `${NETWORKMANAGER_DIR}/pulumi-netdev-${name}.nmconnection`;

/**
 * Whether a keyfile can describe this device's common fields: NetworkManager brings a profile's
 * device up when it activates it (a device netdev keeps down would come back up), names a
 * master by its kind (which a member's inputs do not say), and sees only the host's namespace.
 * MTU and MAC address are left to the unit too: they live in settings whose reach over each
 * connection type this provider does not test.
 */
export function keyfileCanDescribe(inputs: CommonFields): boolean {
  return inputs.netns === undefined && inputs.master === undefined && inputs.up && inputs.mtu === undefined && inputs.macAddress === undefined;
}

/**
 * A keyfile value: NetworkManager reads booleans as true/false, and (GKeyFile) a line ending in
 * a backslash or spanning lines would not be read back as written (validation refuses such inputs).
 */
function keyfileValue(key: string, value: string | number | boolean): string {
  const text = String(value);
  if (/[\r\n]/.test(text) || text.includes("\\")) throw new Error(`${key}=${JSON.stringify(text)}: not a value a keyfile reads back as written`);
  return text;
}

export function renderKeyfile(ini: Ini): string {
  return ini
    .map(([section, entries]) => {
      const lines = Object.entries(entries).flatMap(([key, value]) => {
        if (value === undefined) return [];
        if (Array.isArray(value)) throw new Error(`${key}: a keyfile key is written once (address1=, address2=…)`);
        return [`${key}=${keyfileValue(key, value)}`];
      });
      return `[${section}]\n${lines.join("\n")}\n`;
    })
    .join("\n");
}

/** A stable profile UUID: the same inputs render the same file (refresh compares hashes). */
export function profileUuid(token: string, name: string): string {
  const hex = createHash("sha256").update(`pulumi-netdev/${token}/${name}`).digest("hex");
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Numbered address keys (address1=, address2=…) of one family. */
function addressKeys(addresses: string[]): Record<string, string> {
  return Object.fromEntries(addresses.map((address, index) => [`address${index + 1}`, address]));
}

/**
 * What makes NetworkManager recreate the device at boot as `ip` made it: a keyfile profile
 * (mode 0600, as NetworkManager requires of the files it reads) that autoconnects on the
 * device's name with exactly its addresses (no DHCP, no router advertisements; IPv6 link-local
 * by EUI-64 as the kernel gives a device `ip` made), and the `.link` file udev applies to any
 * new device, which writes the alias with our owner tag (refresh after a reboot knows the device
 * as this resource's; NetworkManager has no alias setting).
 */
export function networkManagerArtifacts(device: NetworkManagerDevice, inputs: CommonFields, alias: string, token: string, what: string): Artifact[] {
  const addresses = inputs.addresses ?? [];
  const v4 = addresses.filter((address) => !address.includes(":"));
  const v6 = addresses.filter((address) => address.includes(":"));
  const profile: Ini = [
    [
      "connection",
      { id: `pulumi-netdev-${inputs.name}`, uuid: profileUuid(token, inputs.name), type: device.type, "interface-name": inputs.name, autoconnect: true },
    ],
    ...(device.sections ?? []),
    ["ipv4", { method: v4.length ? "manual" : "disabled", ...addressKeys(v4) }],
    ["ipv6", { method: v6.length ? "manual" : "link-local", "addr-gen-mode": "eui64", ...addressKeys(v6) }],
  ];
  return [
    { path: keyfilePath(inputs.name), mode: "0600", content: header("#", token, what) + renderKeyfile(profile) },
    aliasLinkArtifact(inputs, alias, token, what),
  ];
}

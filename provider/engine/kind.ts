import type { z } from "zod";
import type { LinkState } from "./iplink";
import type { CommonFields } from "./common-fields";
import type { Host } from "./host-interface";
import type { Step } from "./steps";

export type { CommonFields, Step };
export type { Tool } from "./steps";
import type { NetworkdDevice } from "../persist/networkd";
import type { NetworkManagerDevice } from "../persist/networkmanager";

/**
 * A device kind: everything the generic engine needs to know about one `type` of `ip link`.
 * Modelled on vishvananda/netlink's link.go: shared attributes live in the engine, each kind
 * adds a few flat fields.
 */
export interface DeviceKind<Shape extends z.ZodRawShape = z.ZodRawShape, Outputs extends z.ZodRawShape = z.ZodRawShape, Type extends string = string> {
  /** Resource class name, e.g. "Bridge": the registry's key and the public class are named by it. */
  resourceType: Type;
  /** One or two sentences for users: the public class's doc comment and the reference's summary. */
  summary: string;
  /** linkinfo.info_kind values that `ip -details` reports for this kind (adoption checks it). */
  infoKinds: string[];
  /**
   * Set for kinds stacked on a parent interface (macvlan, ipvlan, vlan). With `netns`, the
   * device is made in the host's namespace, where the parent is, and moved into `netns`.
   */
  hasParent?: boolean;
  /** Kernel feature named when `ip link add` answers "Unknown device type". */
  kernelFeature: string;
  /** The kind's own inputs (zod shape), merged with the common ones. */
  fields: Shape;
  /**
   * Kind fields that are secrets (a WireGuard private key): sealed as Pulumi secrets by the
   * resource class, inputs and outputs alike, scrubbed from every error, passed to the host only
   * on stdin (Step.stdin), and never returned by `read` (it returns what it can verify instead).
   */
  secretFields?: Array<keyof Shape & string>;
  /**
   * The kind's own fields, each set (where they do not exclude each other): the unit tier
   * (kinds.unit.test.ts) checks, builds and snapshots its create argv, and checks that an
   * update from the same state is empty, for every registered kind.
   */
  example: z.input<z.ZodObject<Shape>>;
  /** Cross-field rules, each returning an error message keyed by field. */
  refine?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): { field: string; message: string } | undefined;
  /** Kind fields whose change requires a new device. */
  replaceOn: Array<keyof Shape & string>;
  /** What follows `ip link add name <name> [mtu] [address]`: typically ["type", kind, …]. */
  createArgs?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): string[];
  /** For kinds not made by `ip link add` (tun/tap): the whole create step (createArgs is then unused); mtu and MAC are set after it. */
  createStep?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): Step;
  /** Work on the host before creating, e.g. a namespace the device's other end goes into. */
  prepare?(inputs: z.output<z.ZodObject<Shape>> & CommonFields, host: Host): Promise<void>;
  /** Extra steps after the device exists (peer config, FDB entries). */
  afterCreate?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): Step[];
  /** Namespaces besides `netns` the device occupies (a veth's peer namespace): implicit ones go with it. */
  namespacesUsed?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): Array<string | undefined>;
  /** Steps after the device is up (create only), e.g. a veth peer that must come up after this end. */
  afterUp?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): Step[];
  /** Steps that move kind fields from `actual` to `desired` in place; `previous` is the last applied state, if any. */
  update(desired: z.output<z.ZodObject<Shape>> & CommonFields, actual: Record<string, unknown>, previous?: Record<string, unknown>): Step[];
  /**
   * Outputs beyond the inputs and the engine's observed ones (a WireGuard interface's public
   * key): their schemas, each described (the resource class declares them, so Pulumi records
   * them; the reference is generated from them), and how they follow from what `read`
   * returned. Computed after every create, update and refresh.
   */
  outputs?: { fields: Outputs; compute(actual: Record<string, unknown>, inputs: z.output<z.ZodObject<Shape>> & CommonFields): Record<string, unknown> };
  /**
   * How systemd-networkd would make this device at boot (`persist: "networkd"`), or undefined
   * where it cannot express these inputs. Only asked for devices in the host's namespace
   * without a master; everything else (and kinds without it) is persisted by a oneshot unit
   * replaying the create argv (persist/oneshot.ts), which any kind supports.
   */
  networkd?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): NetworkdDevice | undefined;
  /**
   * How NetworkManager would make this device at boot (`persist: "networkmanager"`), as a
   * keyfile profile, or undefined where a keyfile cannot express these inputs. Asked only for
   * devices a keyfile can describe at all (persist/networkmanager.ts keyfileCanDescribe); the
   * others, and kinds without it, are persisted by the oneshot unit.
   */
  networkmanager?(inputs: z.output<z.ZodObject<Shape>> & CommonFields): NetworkManagerDevice | undefined;
  /** The kind fields as they are on the host, in input form, for drift detection (may carry extra keys for `outputs`). */
  read(link: LinkState, host: Host, netns: string | undefined, inputs: z.output<z.ZodObject<Shape>> & CommonFields): Promise<Record<string, unknown>>;
}

// biome-ignore lint/complexity/noBannedTypes: the empty shape, for a kind with no outputs of its own
export function defineKind<Shape extends z.ZodRawShape, Outputs extends z.ZodRawShape = {}, Type extends string = string>(
  kind: DeviceKind<Shape, Outputs, Type>,
): DeviceKind<Shape, Outputs, Type> {
  return kind;
}

/**
 * The package's public surface: the resources (their classes, Args and outputs), the components,
 * the stack-config helpers and the errors a program may catch, typed in plain TypeScript (no zod
 * type is reachable from here, so a program type-checks with skipLibCheck off). The engines,
 * schemas and registry are the provider's own, loaded by `pulumi-netdev/runtime` inside Pulumi's
 * provider process.
 */
export * from "./generated/classes";
export type * from "./generated/args";
export type * from "./generated/outputs";
export type { DeviceResource, NetdevResource, ResourceClass } from "./resources";
// The components: their classes and arguments, the pure plans they are made of (a plan's items
// become resources with materialize), and the addressing helpers their docs point to. Their
// internals (slots, argument checks) stay unexported.
export {
  Attachment,
  attachmentMac,
  bridgeMac,
  EncryptedOverlay,
  IpvlanNetwork,
  MacvlanNetwork,
  materialize,
  overlayMtu,
  planAttachment,
  planEncryptedOverlay,
  planIpvlanNetwork,
  planMacvlanNetwork,
  planVxlanOverlay,
  VXLAN_OVERHEAD_IPV4,
  VXLAN_OVERHEAD_IPV6,
  VxlanOverlay,
  vtepMac,
  WIREGUARD_OVERHEAD,
} from "./components";
export type {
  AttachmentArgs,
  AttachmentCommonArgs,
  AttachmentPlan,
  AttachmentPlanArgs,
  AttachmentToBridge,
  AttachmentToOverlay,
  EncryptedOverlayArgs,
  EncryptedOverlayHost,
  EncryptedOverlayHostArgs,
  EncryptedOverlayHostPlan,
  EncryptedOverlayPlan,
  EncryptedOverlayPlanArgs,
  IpvlanNetworkArgs,
  IpvlanNetworkPlanArgs,
  LowerMember,
  LowerMemberArgs,
  MacvlanNetworkArgs,
  MacvlanNetworkPlanArgs,
  OverlayAttachPoint,
  OverlayContainer,
  OverlayContainerArgs,
  OverlayForm,
  OverlayHost,
  OverlayHostPlan,
  OverlayMode,
  PersistOption,
  PlanItem,
  VxlanOverlayArgs,
  VxlanOverlayHostArgs,
  VxlanOverlayPlan,
  VxlanOverlayPlanArgs,
} from "./components";
export { connectionFromConfig, hostsFromConfig, parseHostsConfig, type HostConfig } from "./config";
export { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "./ssh/errors";

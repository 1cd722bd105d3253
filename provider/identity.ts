import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/**
 * A resource's owner key: 12 hex digits of a hash of its URN (project, stack, type with its
 * parents' types, name), known at preview and the same on every run. The provider tags the
 * device with it, so a `pulumi up` that died after creating the device but before recording
 * it is followed by a create that recognises the device as its own (see engine/ownership.ts).
 */
export function ownerKeyOf(type: string, resourceName: string, opts?: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const urn = pulumi.createUrn(resourceName, `netdev:index:${type}`, opts?.parent);
  // Only the value: an input that depended on the parent component would make this resource
  // wait for all of that component's children, itself included (a deadlock).
  return pulumi.output(new Promise<string>((resolve) => urn.apply((value) => resolve(createHash("sha256").update(value).digest("hex").slice(0, 12)))));
}

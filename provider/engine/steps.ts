import type { Step } from "./kind";

/**
 * Steps that bring a device's addresses from `actual` to `desired`. With no desired list,
 * only the addresses this resource managed before are removed; others are left alone.
 */
export function addressSteps(
  field: string,
  netns: string | undefined,
  dev: string,
  desired: string[] | undefined,
  actual: string[],
  managedBefore: string[] = [],
): Step[] {
  const toAdd = (desired ?? []).filter((a) => !actual.includes(a));
  const toRemove = desired !== undefined ? actual.filter((a) => !desired.includes(a)) : actual.filter((a) => managedBefore.includes(a));
  return [
    ...toRemove.map((a): Step => ({ field, tool: "ip", netns, args: ["addr", "del", a, "dev", dev] })),
    ...toAdd.map((a): Step => ({ field, tool: "ip", netns, args: ["addr", "add", a, "dev", dev] })),
  ];
}

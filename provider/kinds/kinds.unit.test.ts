import { describe, expect, it } from "vitest";
import { HostShell } from "../engine/host";
import { deviceEngine, deviceKinds } from "../registry";
import { UNKNOWN } from "../engine/validation";

/**
 * Every registered kind, without a host: its own example (kind.ts `example`) is valid, the
 * commands a create runs are exactly the snapshot (kinds.unit.test.ts.snap: a new kind adds
 * its entry; CI refuses a missing one), a diff against itself is empty, and an update whose
 * `actual` already is the desired state runs nothing.
 */
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };

describe.each(Object.keys(deviceKinds))("%s", (type) => {
  const engine = deviceEngine(type);
  const checked = engine.check({ connection, name: "nd0", addresses: ["10.9.0.1/24"], mtu: 1400, ...engine.kind.example });
  const parsed = () => engine.parse(checked.inputs);
  const kindFields = () => Object.fromEntries(Object.keys(engine.kind.fields).map((key) => [key, parsed()[key]]));

  it("accepts its example", () => {
    expect(checked.failures).toEqual([]);
  });

  it("creates with exactly these commands", () => {
    const host = new HostShell(parsed().connection);
    const commands = engine
      .createSteps(parsed(), "0123456789ab")
      .map((step) => `${step.field}: ${host.argv(step).join(" ")}${step.stdin !== undefined ? " <stdin>" : ""}`);
    expect(commands[0]).toMatch(/^create: /);
    expect(commands.some((command) => command.includes("alias netdev#0123456789ab"))).toBe(true);
    expect(commands).toMatchSnapshot();
  });

  it("persists with exactly these files (networkd's where it can say it, else a oneshot unit)", () => {
    const files = engine.persistence({ ...parsed(), persist: "networkd" }, "0123456789ab");
    expect(files.length).toBeGreaterThan(0);
    const shown = files.map((file) =>
      "linkTo" in file ? `${file.path} -> ${file.linkTo}` : `${file.path} (${file.mode})\n${file.secret ? "<secret>" : file.content}`,
    );
    expect(shown).toMatchSnapshot();
    expect(engine.persistence(parsed(), "0123456789ab")).toEqual([]);
  });

  it("persists through NetworkManager with exactly these files (a keyfile where the kind says it, else the oneshot unit)", () => {
    const files = engine.persistence({ ...parsed(), persist: "networkmanager" }, "0123456789ab");
    const shown = files.map((file) =>
      "linkTo" in file ? `${file.path} -> ${file.linkTo}` : `${file.path} (${file.mode})\n${file.secret ? "<secret>" : file.content}`,
    );
    expect(shown).toMatchSnapshot();
  });

  it("sees no change between the example and itself", () => {
    expect(engine.diff(checked.inputs, checked.inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("updates nothing when the host already matches", () => {
    expect(engine.kind.update(parsed(), kindFields(), kindFields())).toEqual([]);
  });

  it("replaces on each replace-only field and on name, in place on the others", () => {
    for (const field of engine.kind.replaceOn) {
      expect(engine.diff({ ...checked.inputs, [field]: "__before" }, checked.inputs).replaces, field).toContain(field);
    }
    expect(engine.diff({ ...checked.inputs, name: "nd1" }, checked.inputs).replaces).toContain("name");
    expect(engine.diff({ ...checked.inputs, mtu: 1300 }, checked.inputs)).toMatchObject({ changes: true, replaces: [] });
  });

  it("moves to another master in place, and is replaced with a master that Pulumi replaces (its master unknown)", () => {
    const member = { ...checked.inputs, master: "ndm0" };
    expect(engine.diff(member, { ...member, master: "ndm1" })).toMatchObject({ changes: true, replaces: [] });
    expect(engine.diff(member, { ...member, master: UNKNOWN })).toEqual({ changes: true, replaces: ["master"], deleteBeforeReplace: true });
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { argvSeenByAsync, CHECKED_SHELLS, HOSTILE, noteSkippedShells, requireShell, shellSkipReason, SHELLS, shellTitle } from "../../test/support/shells";
import { deviceKinds, deviceEngine as engineFor } from "../registry";
import { commonShape } from "./engine";
import { HostShell } from "./host";

/**
 * Hostile values for every field of every kind, through validation and argv building (no
 * host): each is refused with an error naming its field, or every command a create would run
 * with it reaches each shell an SSH server may use (dash, bash, zsh, busybox sh) as exactly
 * the argv that was built.
 */
const SECRET = "-----BEGIN OPENSSH PRIVATE KEY-----\nhostile-fuzz-secret-material\n";
const connection = { host: "10.0.0.1", hostKey: `SHA256:${"A".repeat(43)}`, privateKey: SECRET, password: "pw-hostile-1" };

/** Each kind's own example (kind.ts: `example`), every kind field set, on a device name. */
const BASE: Record<string, Record<string, unknown>> = Object.fromEntries(
  Object.entries(deviceKinds).map(([type, kind]) => [type, { name: "nd0", ...kind.example }]),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string({ unit: "binary-ascii", maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.constantFrom(-1, 0, 1.5, 65536, 4095, 16777216, 2 ** 53, Number.NaN, true, null, {}),
  fc.array(fc.constantFrom(...HOSTILE, "10.0.0.1/24", "fe80::1/64", "10.0.0.1/24; reboot"), { maxLength: 3 }),
);

describe("hostile values for every field of every kind", () => {
  noteSkippedShells();
  for (const shell of SHELLS) it.skipIf(shellSkipReason(shell))(shellTitle(`${shell.name} is installed`, shell), () => requireShell(shell));

  it.each(Object.keys(deviceKinds))(
    "%s: refused naming the field, or built into argv every checked shell receives exactly",
    async (type) => {
      const engine = engineFor(type);
      const base = { connection, ...BASE[type] };
      expect(engine.check(base).failures, `${type} base`).toEqual([]);
      const fields = [...Object.keys(commonShape), ...Object.keys(engine.kind.fields)].filter((f) => f !== "connection" && f !== "ownerKey");
      let accepted = 0;
      let refused = 0;
      for (const field of fields) {
        // Every accepted value's argv, checked through each shell at once (one start per shell and field).
        const built: string[] = [];
        fc.assert(
          fc.property(hostileValue, (value) => {
            const { failures, inputs } = engine.check({ ...base, [field]: value });
            if (failures.length) {
              refused++;
              expect(
                failures.some((f) => f.property === field || f.reason.includes(field)),
                `${type}.${field} = ${JSON.stringify(value)}: ${JSON.stringify(failures)}`,
              ).toBe(true);
              for (const f of failures) expect(`${f.property} ${f.reason}`).not.toMatch(/hostile-fuzz-secret|pw-hostile/);
              return;
            }
            accepted++;
            const parsed = engine.parse(inputs);
            const host = new HostShell(parsed.connection);
            const steps = [...engine.createSteps(parsed, "0123456789ab"), ...engine.kind.update(parsed, {}, undefined)];
            const argvs = steps.map((step) => host.argv(step));
            for (const argv of argvs) {
              expect(["ip", "bridge", "sysctl", "wg"]).toContain(argv[0]);
              for (const arg of argv) expect(arg.includes("\0"), `${type}.${field}: NUL in ${JSON.stringify(argv)}`).toBe(false);
            }
            const flat = argvs.flat();
            built.push(...flat);
          }),
          { numRuns: 25, seed: 4711 },
        );
        if (built.length) for (const shell of CHECKED_SHELLS) expect(await argvSeenByAsync(shell, built), `${shell.name}: ${type}.${field}`).toEqual(built);
      }
      expect(refused, `${type}: some hostile values are refused`).toBeGreaterThan(0);
      expect(accepted, `${type}: the accepted ones were built and checked`).toBeGreaterThan(0);
    },
    400_000,
  );
});

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { engineFor } from "../../provider/registry";
import { generatedFiles } from "./generate";
import { inputTypeText } from "./render-types";
import { typeOf } from "./zod-walk";
import { commonDeviceInputs, commonDeviceOutputs, connectionFields, type InputDoc, repoRoot, resourceDocs, undescribed } from "./model";

/**
 * The reference and the public types are generated from the schemas (tools/gen-reference.ts):
 * complete (every field described), current (what is checked in is what the generator writes
 * now), and right about what a change does (each field's rule is what the engine's diff does).
 */
const resources = resourceDocs();

describe("the generated reference", () => {
  it("describes every field: each resource's inputs (nested ones too), the connection's, every output", () => {
    const missing = [
      ...resources.flatMap((resource) =>
        [...undescribed(resource.inputs.map((input) => input.input)), ...undescribed(resource.outputs.map((output) => output.output))].map(
          (field) => `${resource.name}.${field}`,
        ),
      ),
      ...undescribed(commonDeviceInputs().map((input) => input.input)).map((field) => `every device's ${field}`),
      ...undescribed(commonDeviceOutputs().map((output) => output.output)).map((field) => `every device's output ${field}`),
      ...undescribed(connectionFields().input).map((field) => `connection.${field}`),
    ];
    expect(missing, 'fields without a description: add .describe("…") beside each one\'s schema').toEqual([]);
  });

  it("is current: the checked-in generated files are what `npm run gen` writes now", () => {
    const stale: string[] = [];
    for (const [relative, content] of generatedFiles()) {
      let current: string | undefined;
      try {
        current = readFileSync(path.join(repoRoot, relative), "utf8");
      } catch {
        current = undefined;
      }
      if (current !== content) stale.push(relative);
    }
    expect(stale, "these generated files are out of date: run `npm run gen` and commit the result").toEqual([]);
  });

  it("writes a discriminated union's discriminator as its plain literal in arguments, every other field a pulumi.Input", () => {
    const union = z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("vrf"), table: z.number() }),
      z.object({ kind: z.literal("dummy"), mtu: z.number().optional() }),
    ]);
    const text = inputTypeText(typeOf(union, "input", new Map()));
    expect(text).toContain('kind: "vrf";');
    expect(text).toContain("table: pulumi.Input<number>;");
    expect(text).toContain('kind: "dummy";');
    // A plain union is no discriminated one: its members' fields stay Inputs.
    expect(inputTypeText(typeOf(z.union([z.object({ kind: z.literal("a") }), z.object({ kind: z.literal("b") })]), "input", new Map()))).toContain(
      'kind: pulumi.Input<"a">;',
    );
  });

  it("links only to pages that exist (the components' are written by hand)", () => {
    const index = generatedFiles().get("docs/reference/README.md")!;
    const targets = [...index.matchAll(/\]\(([^)#]+)\)/g)].map((match) => match[1]!);
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((target) => !existsSync(path.join(repoRoot, "docs/reference", target)))).toEqual([]);
  });

  it("says what a change does as each engine's diff does it", () => {
    const wrong: string[] = [];
    for (const resource of resources) {
      const engine = engineFor(resource.name);
      const inputs: InputDoc[] = [...(resource.category === "device" ? commonDeviceInputs() : []), ...resource.inputs];
      const connection = { host: "10.0.0.1", port: 22, hostKey: `SHA256:${"A".repeat(43)}`, privateKey: "unused" };
      const base: Record<string, unknown> = { connection, ...(resource.category === "device" ? { name: "nd0" } : {}), ...resource.example };
      for (const input of inputs) {
        const before = input.name === "connection" ? { ...connection, host: "10.0.0.2" } : { ...base, [input.name]: "__before" }[input.name];
        const diff = engine.diff({ ...base, [input.name]: before }, base);
        const did = diff.replaces.includes(input.name) ? "replace" : diff.changes ? "in place" : "nothing";
        const says = input.rule === "host" ? "replace" : input.rule;
        if (did !== says) wrong.push(`${resource.name}.${input.name}: the reference says ${says}, the engine does ${did}`);
        if (input.rule === "host") {
          // Another credential on the same host: in place.
          const credential = engine.diff({ ...base, connection: { ...connection, privateKey: "other" } }, base);
          if (credential.replaces.length > 0 || !credential.changes) wrong.push(`${resource.name}.connection: a new credential should change in place`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as components from "../../provider/components";
import { classSummaries, repoRoot, resourceDocs } from "./model";
import { renderConnectionPage, renderIndex, renderKindsTable, renderResourcePage } from "./render-docs";
import { renderArgs, renderClasses, renderFieldLists, renderOutputs, renderPlainInputs } from "./render-types";

/** The README's block between these markers is the kinds table (the README's own, linking into docs/reference). */
export const KINDS_TABLE_START = "<!-- kinds-table -->";
export const KINDS_TABLE_END = "<!-- /kinds-table -->";

/**
 * The public component classes, each with its doc comment and its page: pages are written by
 * hand beside the generated ones, one per source file (lower-network.ts: LowerNetwork.md).
 */
export function componentDocs(): Array<{ name: string; summary: string; page: string }> {
  const classes = new Set(
    Object.entries(components)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof pulumi.ComponentResource)
      .map(([name]) => name),
  );
  const docs: Array<{ name: string; summary: string; page: string }> = [];
  for (const file of readdirSync(path.join(repoRoot, "provider/components")).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))) {
    const page = `${file.replace(/\.ts$/, "").replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase())}.md`;
    for (const [name, summary] of classSummaries([`provider/components/${file}`])) if (classes.has(name)) docs.push({ name, summary, page });
  }
  return docs.sort((a, b) => a.name.localeCompare(b.name));
}

/** The README with its kinds-table block filled, or undefined when it has no such block. */
function readmeWithTable(table: string): string | undefined {
  const file = path.join(repoRoot, "README.md");
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(KINDS_TABLE_START);
  const end = text.indexOf(KINDS_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return `${text.slice(0, start + KINDS_TABLE_START.length)}\n${table}\n${text.slice(end)}`;
}

/** Every generated file, by its path relative to the repository root, as it should read now. */
export function generatedFiles(): Map<string, string> {
  const resources = resourceDocs();
  const files = new Map<string, string>([
    ["provider/generated/args.ts", renderArgs(resources)],
    ["provider/generated/outputs.ts", renderOutputs(resources)],
    ["provider/generated/fields.ts", renderFieldLists(resources)],
    ["provider/generated/classes.ts", renderClasses(resources)],
    ["provider/generated/inputs.ts", renderPlainInputs(resources)],
    ["docs/reference/README.md", renderIndex(resources, componentDocs())],
    ["docs/reference/Connection.md", renderConnectionPage()],
    ["docs/reference/kinds-table.md", `${renderKindsTable(resources, "")}\n`],
  ]);
  for (const resource of resources) files.set(`docs/reference/${resource.name}.md`, renderResourcePage(resource));
  const readme = readmeWithTable(renderKindsTable(resources, "docs/reference/"));
  if (readme !== undefined) files.set("README.md", readme);
  return files;
}

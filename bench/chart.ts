import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { ensureCommands } from "./install";
import { panelOf, PHASES, type BenchResults, type Row } from "./results";

/**
 * `npm run bench`'s chart: per N a panel of grouped bars, one group per phase and one bar
 * (one colour) per model, seconds on a linear axis with each bar's value written on it.
 * Drawn as SVG here and converted to PNG with rsvg-convert (Debian's librsvg2-bin, installed
 * when missing).
 */
const COLOURS: Array<[RegExp, string]> = [
  [/^netdev \(this/, "#1f77b4"],
  [/^netdev \(/, "#9ecae1"],
  [/remote\.Command/, "#ff7f0e"],
  [/^Pulumi alone/, "#7f7f7f"],
  [/^limit/, "#2ca02c"],
  [/^Ansible/, "#d62728"],
];
const SPARE = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"];
const PHASE_LABELS: Record<(typeof PHASES)[number], string> = {
  up: "up",
  refresh: "refresh (Ansible: --check)",
  preview: "preview, no-op (Ansible: run again)",
  destroy: "destroy",
};

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

export function chartSvg({ parallel, results }: BenchResults): string {
  const models = [...new Set(results.map((r) => r.model))];
  let spare = 0;
  const colour = new Map(models.map((m) => [m, COLOURS.find(([pattern]) => pattern.test(m))?.[1] ?? SPARE[spare++ % SPARE.length]!]));
  const panels = [...new Set(results.map(panelOf))];
  const width = 1200;
  const legendHeight = 24 + models.length * 20;
  const panelHeight = 330;
  const top = 40 + legendHeight;
  const height = top + panels.length * panelHeight + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="28" font-size="18" font-weight="bold">pulumi up / refresh / preview / destroy of N bridges over 3 lab hosts, --parallel ${parallel} (seconds, lower is better)</text>`,
  ];
  models.forEach((model, i) => {
    const connections = results
      .filter((r) => r.model === model && !r.latencyMs)
      .map((r) => `${r.connections} at N=${r.devices}`)
      .join(", ");
    out.push(`<rect x="20" y="${46 + i * 20}" width="14" height="14" fill="${colour.get(model)}"/>`);
    out.push(
      `<text x="42" y="${58 + i * 20}" font-size="13">${escapeXml(model)}  <tspan fill="#666">(SSH connections: ${escapeXml(connections)})</tspan></text>`,
    );
  });
  panels.forEach((panel, p) => {
    const rows = models.map((m) => results.find((r) => r.model === m && panelOf(r) === panel)).filter((r): r is Row => r !== undefined);
    const y0 = top + p * panelHeight + 30;
    const plotHeight = panelHeight - 90;
    const x0 = 70;
    const x1 = width - 20;
    const yMax = niceMax(Math.max(...rows.flatMap((r) => PHASES.map((ph) => r.seconds[ph] ?? 0))));
    const y = (s: number) => y0 + plotHeight - (s / yMax) * plotHeight;
    out.push(`<text x="${x0}" y="${y0 - 12}" font-size="15" font-weight="bold">${escapeXml(panel)}</text>`);
    for (let k = 0; k <= 5; k++) {
      const value = (yMax * k) / 5;
      out.push(`<line x1="${x0}" x2="${x1}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`);
      out.push(`<text x="${x0 - 6}" y="${y(value) + 4}" font-size="11" text-anchor="end">${Number(value.toFixed(2))} s</text>`);
    }
    const groupWidth = (x1 - x0) / PHASES.length;
    const barWidth = (groupWidth * 0.84) / Math.max(rows.length, 1);
    PHASES.forEach((phase, g) => {
      const gx = x0 + g * groupWidth + groupWidth * 0.08;
      rows.forEach((row, b) => {
        const s = row.seconds[phase];
        const bx = gx + b * barWidth;
        if (s === undefined) {
          out.push(`<text x="${bx + barWidth / 2}" y="${y(0) - 4}" font-size="10" text-anchor="middle" fill="#999">${row.error ? "failed" : "–"}</text>`);
          return;
        }
        out.push(`<rect x="${bx + 1}" y="${y(s)}" width="${barWidth - 2}" height="${Math.max(y(0) - y(s), 0.5)}" fill="${colour.get(row.model)}"/>`);
        out.push(`<text x="${bx + barWidth / 2}" y="${y(s) - 3}" font-size="10" text-anchor="middle">${s < 10 ? s.toFixed(2) : s.toFixed(1)}</text>`);
      });
      out.push(
        `<text x="${x0 + g * groupWidth + groupWidth / 2}" y="${y(0) + 18}" font-size="13" text-anchor="middle">${escapeXml(PHASE_LABELS[phase])}</text>`,
      );
    });
    out.push(`<line x1="${x0}" x2="${x1}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  });
  out.push("</svg>");
  return out.join("\n");
}

/** Writes FILE.svg and FILE.png beside FILE.json; returns the PNG's path. */
export function writeChart(jsonPath: string, results: BenchResults): string {
  ensureCommands({ "rsvg-convert": "librsvg2-bin", "fc-list": "fontconfig" });
  const base = jsonPath.replace(/\.json$/, "");
  writeFileSync(`${base}.svg`, chartSvg(results));
  execFileSync("rsvg-convert", ["--background-color", "white", "-o", `${base}.png`, `${base}.svg`]);
  return `${base}.png`;
}

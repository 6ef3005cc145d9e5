// Bar and line charts drawn as SVG, each with its numbers in a table for screen readers
// and for anyone who would rather read them.
import { useId } from "preact/hooks";

export interface Point {
  /** RFC 3339 time of the bucket's start. */
  at: string;
  value: number;
}

const WIDTH = 640;
const HEIGHT = 160;
const PAD = 28;

/** A time series as bars (counts per hour) or a line (a rate or a latency). */
export function Chart({
  title,
  points,
  unit,
  kind = "bar",
}: {
  title: string;
  points: Point[];
  unit: string;
  kind?: "bar" | "line";
}) {
  const id = useId();
  const max = Math.max(1, ...points.map((p) => p.value));
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const step = points.length > 0 ? (WIDTH - PAD) / points.length : 0;
  const y = (v: number) => HEIGHT - PAD - (v / max) * (HEIGHT - 2 * PAD);
  const summary =
    kind === "bar"
      ? `${total} ${unit} in all, at most ${max} in one bucket`
      : `latest ${points.at(-1)?.value ?? 0} ${unit}, peak ${round(max)} ${unit}`;
  return (
    <figure class="chart">
      <figcaption id={id}>
        <strong>{title}</strong> <span class="muted">{summary}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={id} preserveAspectRatio="none">
        <line class="axis" x1={PAD} y1={HEIGHT - PAD} x2={WIDTH} y2={HEIGHT - PAD} />
        <text class="tick" x={PAD - 4} y={PAD} text-anchor="end">
          {round(max)}
        </text>
        <text class="tick" x={PAD - 4} y={HEIGHT - PAD} text-anchor="end">
          0
        </text>
        {kind === "bar" &&
          points.map((p, i) => (
            <rect
              key={p.at}
              class="bar"
              x={PAD + i * step}
              y={y(p.value)}
              width={Math.max(1, step - 1)}
              height={HEIGHT - PAD - y(p.value)}
            />
          ))}
        {kind === "line" && points.length > 1 && (
          <polyline
            class="line"
            points={points.map((p, i) => `${PAD + i * step + step / 2},${y(p.value)}`).join(" ")}
          />
        )}
        {points.length > 0 && (
          <>
            <text class="tick" x={PAD} y={HEIGHT - 8}>
              {label(points[0].at)}
            </text>
            <text class="tick" x={WIDTH} y={HEIGHT - 8} text-anchor="end">
              {label(points[points.length - 1].at)}
            </text>
          </>
        )}
      </svg>
      <details>
        <summary>Show the numbers</summary>
        <table>
          <caption class="visually-hidden">{title}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">{unit}</th>
            </tr>
          </thead>
          <tbody>
            {points
              .filter((p) => p.value !== 0 || kind === "line")
              .map((p) => (
                <tr key={p.at}>
                  <td>{label(p.at)}</td>
                  <td>{round(p.value)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function label(at: string): string {
  const d = new Date(at);
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}`;
}

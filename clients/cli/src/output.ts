// What commands print: aligned tables for people, JSON for scripts (--json), one line per event.

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

export interface Output {
  json: boolean;
  write(text: string): void;
}

export function stdoutOutput(json: boolean): Output {
  return { json, write: (text) => process.stdout.write(text) };
}

/** Rows as left-aligned columns under upper-case headers, two spaces apart; `(none)` when empty. */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** Label-value pairs, labels aligned: for one object. */
export function renderRecord(pairs: readonly [string, string | number | boolean | null | undefined][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${(label + ':').padEnd(width + 1)}  ${cellText(value)}`.trimEnd()).join('\n') + '\n';
}

/** One table cell: no line breaks or tabs, so a column stays a column. */
function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/[\r\n\t]+/g, ' ');
}

export function printJson(output: Output, value: unknown): void {
  output.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints `value` as JSON with --json, else as the text `human` renders. */
export function print<T>(output: Output, value: T, human: (value: T) => string): void {
  if (output.json) printJson(output, value);
  else output.write(human(value));
}

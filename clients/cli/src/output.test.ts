import { describe, expect, it } from 'vitest';
import { print, renderRecord, renderTable, type Output } from './output';

describe('renderTable', () => {
  const columns = [
    { header: 'id', value: (r: { id: string; title: string; who: string | null }) => r.id },
    { header: 'title', value: (r: { id: string; title: string; who: string | null }) => r.title },
    { header: 'assignee', value: (r: { id: string; title: string; who: string | null }) => r.who },
  ];

  it('aligns columns under upper-case headers, with - for empty cells and no trailing spaces', () => {
    const text = renderTable(columns, [
      { id: 'a1', title: 'Write the release notes', who: 'Bob' },
      { id: 'b22', title: 'Ship', who: null },
    ]);
    expect(text).toBe(['ID   TITLE                    ASSIGNEE', 'a1   Write the release notes  Bob', 'b22  Ship                     -', ''].join('\n'));
  });

  it('keeps one row per line when a value holds line breaks or tabs', () => {
    expect(renderTable(columns, [{ id: 'x', title: 'two\nlines\there', who: 'A' }])).toBe('ID  TITLE           ASSIGNEE\nx   two lines here  A\n');
  });

  it('says (none) for no rows', () => {
    expect(renderTable(columns, [])).toBe('(none)\n');
  });
});

describe('renderRecord', () => {
  it('aligns labels', () => {
    expect(renderRecord([['id', 'u1'], ['email', 'ada@example.com'], ['verified', false]])).toBe('id:        u1\nemail:     ada@example.com\nverified:  false\n');
  });
});

describe('print', () => {
  const capture = (json: boolean) => {
    let text = '';
    const output: Output = { json, write: (t) => (text += t) };
    return { output, text: () => text };
  };

  it('prints JSON with --json and the human rendering otherwise', () => {
    const machine = capture(true);
    print(machine.output, { id: 'w1' }, () => 'table\n');
    expect(JSON.parse(machine.text())).toEqual({ id: 'w1' });
    const human = capture(false);
    print(human.output, { id: 'w1' }, (v) => `workspace ${v.id}\n`);
    expect(human.text()).toBe('workspace w1\n');
  });
});

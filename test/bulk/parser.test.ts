import { Readable } from 'node:stream';
import { createExportParser, type ParsedRow } from '../../src/marketo/bulk/parser.js';
import type { ExportKind, RowByKind } from '../../src/marketo/bulk/rows.js';
import type { ExportFormat } from '../../src/marketo/bulk/formats.js';

async function parseText<K extends ExportKind>(
  text: string,
  kind: K,
  format: ExportFormat = 'CSV',
  columnHeaderNames?: Record<string, string>,
): Promise<ParsedRow<RowByKind[K]>[]> {
  const parser = createExportParser({ kind, format, columnHeaderNames });
  const out: ParsedRow<RowByKind[K]>[] = [];
  // One byte at a time: row boundaries and offsets must not depend on chunking.
  const bytes = Buffer.from(text);
  const source = Readable.from((function* () {
    for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1);
  })());
  for await (const row of source.pipe(parser.stream)) out.push(row as ParsedRow<RowByKind[K]>);
  return out;
}

describe('createExportParser', () => {
  it('turns bare null into null, keeps quoted text, and reports the byte end of each row', async () => {
    const text = 'firstName,lastName,email\nRussell,null,"a,b@x.com"\n"Zoë","null",\n';
    const rows = await parseText(text, 'leads');
    expect(rows.map((r) => r.row)).toEqual([
      { firstName: 'Russell', lastName: null, email: 'a,b@x.com' },
      // A quoted "null" reads the same: Marketo does not quote it, so the two cannot be told apart.
      { firstName: 'Zoë', lastName: null, email: '' },
    ]);
    expect(rows[0]!.end).toBe(Buffer.byteLength('firstName,lastName,email\nRussell,null,"a,b@x.com"\n'));
    expect(rows[1]!.end).toBe(Buffer.byteLength(text));
  });

  it('maps columnHeaderNames back to field names', async () => {
    const rows = await parseText('Marketo Id,Email Address\n7,a@b.c\n', 'leads', 'CSV', { id: 'Marketo Id', email: 'Email Address' });
    expect(rows[0]!.row).toEqual({ id: '7', email: 'a@b.c' });
  });

  it('reads TSV and SSV', async () => {
    expect((await parseText('a\tb\n1\t"x\ty"\n', 'leads', 'TSV'))[0]!.row).toEqual({ a: '1', b: 'x\ty' });
    expect((await parseText('a;b\n1;"x;y"\n', 'leads', 'SSV'))[0]!.row).toEqual({ a: '1', b: 'x;y' });
  });

  it('types activity rows and parses attributes in object and legacy list form', async () => {
    const text = [
      'marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,primaryAttributeValue,attributes',
      '783957693,5414087,2022-02-13T14:06:20Z,104,8497,1670,MembershipTest1,"{""Program Member ID"":3240303,""Success"":false,""New Status"":""On List""}"',
      '783957694,12,2022-02-13T14:06:21Z,1,null,null,null,"[{""name"":""Source Type"",""value"":""Web page visit""}]"',
      '',
    ].join('\n');
    const rows = await parseText(text, 'activities');
    expect(rows.map((r) => r.row)).toEqual([
      {
        marketoGUID: '783957693',
        leadId: 5414087,
        activityDate: '2022-02-13T14:06:20Z',
        activityTypeId: 104,
        campaignId: 8497,
        primaryAttributeValueId: 1670,
        primaryAttributeValue: 'MembershipTest1',
        attributes: { 'Program Member ID': 3240303, Success: false, 'New Status': 'On List' },
      },
      {
        marketoGUID: '783957694',
        leadId: 12,
        activityDate: '2022-02-13T14:06:21Z',
        activityTypeId: 1,
        campaignId: null,
        primaryAttributeValueId: null,
        primaryAttributeValue: null,
        attributes: { 'Source Type': 'Web page visit' },
      },
    ]);
  });

  it('reports a bad activity row in place, naming line and field but no value, and goes on', async () => {
    const text = 'marketoGUID,leadId,attributes\n1,12,{}\n2,twelve,{}\n3,13,{}\n';
    const rows = await parseText(text, 'activities');
    expect(rows.map((r) => r.row?.marketoGUID ?? r.malformed?.line)).toEqual(['1', 3, '3']);
    expect(rows[1]!.malformed).toEqual({ line: 3, end: Buffer.byteLength('marketoGUID,leadId,attributes\n1,12,{}\n2,twelve,{}\n'), reason: 'leadId: expected an integer', id: '2' });
    expect(rows[1]!.malformed!.reason).not.toContain('twelve');
    expect((await parseText('marketoGUID,attributes\n1,"{not json"\n', 'activities'))[0]!.malformed?.reason).toMatch(/attributes/);
    expect((await parseText('marketoGUID,bogus\n1,2\n', 'activities'))[0]!.malformed?.reason).toMatch(/bogus/);
  });

  it('reports rows with a wrong number of cells in place instead of dropping them', async () => {
    const rows = await parseText('a,b\n1,2,3\n4\n5,6\n', 'leads');
    expect(rows.map((r) => r.row ?? r.malformed)).toEqual([
      { line: 2, end: 10, reason: '3 cells where the header has 2 columns' },
      { line: 3, end: 12, reason: '1 cells where the header has 2 columns' },
      { a: '5', b: '6' },
    ]);
  });

  it('still fails the stream on broken CSV structure (an unclosed quote)', async () => {
    await expect(parseText('a,b\n1,"2\n3,4\n', 'leads')).rejects.toThrow(/quote/i);
  });

  it('rejects a header that repeats a column', async () => {
    await expect(parseText('a,a\n1,2\n', 'leads')).rejects.toThrow(/repeats column "a"/);
  });
});

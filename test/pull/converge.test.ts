import { startPullHarness, type PullHarness } from './support.js';

/** Small deterministic generator, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Both halves together over several cycles: Marketo users create, edit, delete and merge leads
 * while CRM users create and edit theirs (on other people: the same person changed on both sides
 * is the conflict test's subject). After a quiet cycle both sides hold the same people.
 */
describe('push and pull together converge', () => {
  let h: PullHarness;
  beforeAll(async () => {
    h = await startPullHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('holds the same people with the same values on both sides after 5 cycles of random changes', async () => {
    const random = prng(20261128);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const marketoMade: number[] = [];
    const crmMade: string[] = [];
    let n = 0;
    for (let cycle = 0; cycle < 5; cycle++) {
      for (let i = 0; i < 3; i++) marketoMade.push(h.createLead({ email: `m${n++}@rand.example`, firstName: `M${n}`, title: 'new' }));
      crmMade.push(...(await h.insert('lead', [{ email: `c${n++}@rand.example`, first_name: `C${n}`, title: 'new' }])));
      const live = marketoMade.filter((id) => h.emulator.subscription.getLead(id));
      if (live.length > 4) {
        h.emulator.subscription.editLeadAsUser(pick(live), { title: `m-edit-${cycle}` });
        const [a, b] = [live[0]!, live[1]!];
        h.emulator.subscription.mergeLeads(a, [b], 'Web client');
        h.emulator.subscription.deleteLeads([live[2]!], 'Web client');
      }
      if (crmMade.length > 1) await h.update('lead', [{ id: pick(crmMade.slice(0, -1)), title: `c-edit-${cycle}` }]);
      await h.fullCycle();
    }
    await h.fullCycle();

    const marketo = [...h.emulator.subscription.iterateLeads()].map((l) => ({ id: l.id, email: l.values.email, firstName: l.values.firstName ?? null, title: l.values.title ?? null }));
    const { rows } = await h.store.pool.query<{ marketo_lead_id: string; email: string; first_name: string | null; title: string | null }>(
      `SELECT marketo_lead_id::text, email, first_name, title FROM crm.leads WHERE NOT is_converted
       UNION ALL SELECT marketo_lead_id::text, email, first_name, title FROM crm.contacts`,
    );
    expect(rows.length).toBe(marketo.length);
    // Every CRM person knows its Marketo lead; each Marketo lead has exactly that CRM person, with the same values.
    const byMarketoId = new Map(rows.map((r) => [r.marketo_lead_id, r]));
    for (const m of marketo) {
      expect(byMarketoId.get(String(m.id))).toEqual({ marketo_lead_id: String(m.id), email: m.email, first_name: m.firstName, title: m.title });
    }
  });
});

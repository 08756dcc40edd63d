/** The flows whose verdict an apply (or a rollback) would change, as the controller's dry run answers them. */
import type { ApplyResult } from './api';

type Change = NonNullable<ApplyResult['impact']>[number];

function port(change: Change): string {
  return `${change.protocol}${change.port !== undefined ? `/${change.port}` : ''}${change.family ? ` (IPv${change.family})` : ''}`;
}

export function ImpactTable({ impact, truncated }: { impact: Change[] | undefined; truncated: boolean }) {
  if (impact === undefined) return <p class="impact-none">No effect on policy verdicts (nothing in it bears on policy).</p>;
  if (impact.length === 0) return <p class="impact-none">No flow changes verdict.</p>;
  return (
    <div class="impact">
      <h4>Flows whose verdict changes</h4>
      <table>
        <thead>
          <tr>
            <th>tenant</th>
            <th>from</th>
            <th>to</th>
            <th>port</th>
            <th>before</th>
            <th>after</th>
            <th>pairs</th>
          </tr>
        </thead>
        <tbody>
          {impact.map((c, i) => (
            <tr key={i} class={c.after ? 'opens' : 'closes'}>
              <td>{c.tenant}</td>
              <td>{c.from}</td>
              <td>{c.to}</td>
              <td>{port(c)}</td>
              <td>{c.before ? 'allowed' : 'denied'}</td>
              <td>{c.after ? 'allowed' : 'denied'}</td>
              <td>{c.pairs}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {truncated && <p class="hint">Cut at 1,000 changes.</p>}
    </div>
  );
}

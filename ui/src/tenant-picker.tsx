/** The tenant a view is about: an admin picks one of all tenants, a tenant role has its own. */
import { useEffect, useState } from 'preact/hooks';
import { api, type List, type Whoami } from './api';

export function TenantPicker({ me, value, onChange }: { me: Whoami; value: string; onChange: (tenant: string) => void }) {
  const [tenants, setTenants] = useState<string[]>(me.tenant ? [me.tenant] : []);
  useEffect(() => {
    if (me.tenant) return;
    api<List>('GET', '/api/v1/tenants')
      .then((list) => setTenants(list.items.map((t) => t.metadata.name)))
      .catch(() => setTenants([]));
  }, []);
  // Nothing picked yet: the first tenant (read at render time, so a choice made meanwhile stands).
  useEffect(() => {
    if (!value && tenants.length > 0) onChange(tenants[0]);
  }, [tenants, value]);
  return (
    <label>
      tenant{' '}
      <select aria-label="tenant" value={value} disabled={me.tenant !== undefined} onChange={(e) => onChange(e.currentTarget.value)}>
        {tenants.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Topology: hosts, tenants, networks, endpoints and services as they are now, kept live by the
 * API's multi-kind watch stream (a snapshot, then every change after its revision). Drawn by
 * cytoscape with the fcose layout; big groups collapse to one node; search by name, label or address.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import fcose from 'cytoscape-fcose';
import { api, follow, objectKey, type TenetObject, type Whoami } from './api';
import { buildGraph, endpointAddresses, endpointId, groupOf, matchesSearch, type Graph, type Grouping } from './topology-model';
import { summary } from './summary';

cytoscape.use(fcose);

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: { label: 'data(label)', 'font-size': 10, 'min-zoomed-font-size': 7, 'text-valign': 'center', 'text-halign': 'center' },
  },
  {
    selector: 'node[type="tenant"]',
    style: {
      shape: 'round-rectangle',
      'background-color': '#f3f5f8',
      'border-color': '#8a94a8',
      'border-width': 1,
      'text-valign': 'top',
      'font-size': 13,
      'font-weight': 'bold',
      padding: '14px',
    },
  },
  {
    selector: 'node[type="network"], node[type="host"]:parent',
    style: {
      shape: 'round-rectangle',
      'background-color': '#e7eefc',
      'border-color': '#2f6fde',
      'border-width': 1,
      'text-valign': 'top',
      'font-size': 11,
      padding: '8px',
    },
  },
  {
    selector: 'node[type="network"][?collapsed]',
    style: { width: 150, height: 36, 'text-valign': 'center', 'border-width': 2, 'border-style': 'double' },
  },
  {
    selector: 'node[type="host"]:childless',
    style: { shape: 'hexagon', width: 70, height: 40, 'background-color': '#1d2330', color: '#fff' },
  },
  {
    selector: 'node[type="host"][?collapsed]',
    style: {
      shape: 'round-rectangle',
      width: 150,
      height: 36,
      'border-width': 2,
      'border-style': 'double',
      'background-color': '#e7eefc',
      color: '#1d2330',
    },
  },
  {
    selector: 'node[type="service"]',
    style: { shape: 'diamond', width: 26, height: 26, 'background-color': '#7d4cdb', 'text-valign': 'bottom', 'font-size': 9 },
  },
  {
    selector: 'node[type="endpoint"]',
    style: {
      width: 14,
      height: 14,
      'background-color': '#9aa3b2',
      'text-valign': 'bottom',
      'text-margin-y': 2,
      'font-size': 7,
      'min-zoomed-font-size': 8,
    },
  },
  { selector: 'node[type="endpoint"][phase="ready"]', style: { 'background-color': '#2e9d5b' } },
  { selector: 'node[type="endpoint"][phase="error"], node[type="endpoint"][phase="lost"]', style: { 'background-color': '#d64541' } },
  { selector: 'node[?match]', style: { 'border-color': '#e6a23c', 'border-width': 4, width: 20, height: 20, 'z-index': 10 } },
  { selector: 'node:selected', style: { 'border-color': '#1d2330', 'border-width': 3 } },
  {
    selector: 'edge',
    style: {
      width: 1.5,
      'line-color': '#b5bccb',
      'curve-style': 'straight',
      label: 'data(label)',
      'font-size': 8,
      color: '#687185',
      'text-background-color': '#fff',
      'text-background-opacity': 1,
    },
  },
];

function elementsOf(graph: Graph): ElementDefinition[] {
  return [
    ...graph.nodes.map((data) => ({ group: 'nodes' as const, data: { ...data } })),
    ...graph.edges.map((data) => ({ group: 'edges' as const, data: { ...data } })),
  ];
}

/** Brings the graph on screen to `graph`: adds, removes and updates elements; lays out again when its shape changed. */
function sync(cy: Core, graph: Graph, first: boolean): void {
  const wanted = new Map(elementsOf(graph).map((e) => [e.data.id!, e]));
  let reshaped = first;
  cy.batch(() => {
    for (const element of cy.elements()) {
      const want = wanted.get(element.id());
      if (!want || (element.isNode() && (element.data('parent') ?? undefined) !== want.data.parent)) {
        element.remove();
        reshaped = true;
      }
    }
    const added: ElementDefinition[] = [];
    for (const [id, element] of wanted) {
      const have = cy.getElementById(id);
      if (have.empty()) added.push(element);
      else if (JSON.stringify(have.data()) !== JSON.stringify(element.data)) {
        for (const [key, value] of Object.entries(element.data)) if (key !== 'parent' && key !== 'id') have.data(key, value);
        for (const key of Object.keys(have.data())) if (!(key in element.data)) have.removeData(key);
      }
    }
    if (added.length > 0) {
      // Parents first: a node added before its parent would be placed outside it.
      added.sort((a, b) => (a.group === b.group ? 0 : a.group === 'nodes' ? -1 : 1));
      cy.add(added);
      reshaped = true;
    }
  });
  if (reshaped) {
    cy.layout({
      name: 'fcose',
      animate: false,
      randomize: true,
      quality: 'default',
      nodeRepulsion: () => 6000,
      idealEdgeLength: () => 80,
      nestingFactor: 0.6,
      packComponents: true,
      fit: true,
      padding: 20,
      // A few nodes fitted to the screen would be drawn huge: keep them at a readable size.
      stop: () => {
        if (cy.zoom() > 1.4) {
          cy.zoom(1.4);
          cy.center();
        }
      },
    } as cytoscape.LayoutOptions).run();
  }
}

declare global {
  interface Window {
    /** A read-only window on what the topology draws, for people debugging and for the browser tests. */
    tenetTopology?: { drawn(id: string): boolean; label(id: string): string | undefined; endpoints(): number; revision(): number };
  }
}

export function TopologyView({ me }: { me: Whoami }) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | undefined>(undefined);
  const objects = useRef(new Map<string, TenetObject>());
  const revision = useRef(0);
  const [version, setVersion] = useState(0);
  const [grouping, setGrouping] = useState<Grouping>('network');
  const [search, setSearch] = useState('');
  const [toggled, setToggled] = useState<Map<string, boolean>>(new Map());
  const [problem, setProblem] = useState<string | undefined>();
  const [picked, setPicked] = useState<TenetObject | undefined>();
  const [focus, setFocus] = useState<string | undefined>();

  // Snapshot + watch. Tenant roles may not read Hosts: they get the host names from their endpoints.
  useEffect(() => {
    const kinds = me.role === 'admin' ? 'Tenant,Network,Endpoint,Service,Host' : 'Tenant,Network,Endpoint,Service';
    const abort = new AbortController();
    let pending = false;
    const changed = () => {
      // Many events in a burst (2,000 endpoints created) make one redraw.
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        setVersion((v) => v + 1);
      }, 50);
    };
    const start = async (): Promise<void> => {
      const snapshot = await api<{ revision: number; items: TenetObject[] }>('GET', `/api/v1/snapshot?kinds=${kinds}`);
      objects.current = new Map(snapshot.items.map((o) => [objectKey(o), o]));
      revision.current = snapshot.revision;
      setVersion((v) => v + 1);
      await follow(
        `/api/v1/watch?kinds=${kinds}`,
        snapshot.revision,
        (event) => {
          if (!event.object) return;
          revision.current = event.revision;
          if (event.type === 'DELETED') objects.current.delete(objectKey(event.object));
          else objects.current.set(objectKey(event.object), event.object);
          changed();
        },
        abort.signal,
        () => void start(),
      );
    };
    start().catch((error: Error) => setProblem(error.message));
    return () => abort.abort();
  }, [me.tokenId]);

  const graph = useMemo(() => buildGraph(objects.current.values(), { grouping, toggled, search }), [version, grouping, toggled, search]);
  const endpoints = useMemo(() => [...objects.current.values()].filter((o) => o.kind === 'Endpoint'), [version]);
  const results = useMemo(() => (search.trim() ? endpoints.filter((e) => matchesSearch(e, search)) : []), [endpoints, search]);

  useEffect(() => {
    if (!container.current) return;
    const cy = cytoscape({
      container: container.current,
      style: STYLE,
      wheelSensitivity: 0.3,
      hideEdgesOnViewport: true,
      textureOnViewport: true,
      minZoom: 0.05,
      maxZoom: 4,
    });
    cyRef.current = cy;
    cy.on('dbltap', 'node[type="network"], node[type="host"], node[type="tenant"]', (event) => {
      const node = event.target as cytoscape.NodeSingular;
      if (node.data('count') === undefined) return;
      const id = node.id();
      const collapsed = node.data('collapsed') === true;
      setToggled((map) => new Map(map).set(id, !collapsed));
    });
    cy.on('tap', 'node[type="endpoint"]', (event) => {
      const id = (event.target as cytoscape.NodeSingular).id();
      const [tenant, name] = id.slice(3).split('/');
      setPicked(objects.current.get(`Endpoint/${tenant}/${name}`));
    });
    window.tenetTopology = {
      drawn: (id) => cy.getElementById(id).nonempty(),
      label: (id) => (cy.getElementById(id).data('label') as string | undefined) ?? undefined,
      endpoints: () => [...objects.current.values()].filter((o) => o.kind === 'Endpoint').length,
      revision: () => revision.current,
    };
    return () => {
      window.tenetTopology = undefined;
      cy.destroy();
    };
  }, []);

  const firstDraw = useRef(true);
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy || version === 0) return;
    sync(cy, graph, firstDraw.current);
    firstDraw.current = false;
    if (container.current) container.current.dataset.drawn = String(version);
    if (focus) {
      const node = cy.getElementById(focus);
      if (node.nonempty()) {
        cy.$(':selected').unselect();
        node.select();
        cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1.2) }, { duration: 200 });
      }
    }
  }, [graph, focus]);

  const open = (endpoint: TenetObject) => {
    const group = groupOf(endpoint, grouping);
    setToggled((map) => new Map(map).set(group, false).set(`tn:${endpoint.metadata.tenant ?? ''}`, false));
    setFocus(endpointId(endpoint.metadata.tenant ?? '', endpoint.metadata.name));
    setPicked(endpoint);
  };

  return (
    <div class="topology">
      <div class="graph" ref={container} data-drawn="0" />
      <aside class="side">
        <div class="toolbar">
          <label>
            group by{' '}
            <select aria-label="group by" value={grouping} onChange={(e) => setGrouping(e.currentTarget.value as Grouping)}>
              <option value="network">tenant › network</option>
              <option value="host">host</option>
            </select>
          </label>
        </div>
        <input
          type="search"
          class="topology-search"
          placeholder="search: name, label (app=web), address"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        {problem && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
        <p class="stats" data-endpoints={endpoints.length}>
          {endpoints.length} endpoints · {graph.nodes.filter((n) => n.type === 'endpoint').length} drawn · groups of more than 40 start
          collapsed (double-click a network, host or tenant to open or close it)
        </p>
        {search.trim() !== '' && (
          <div class="results">
            <p class="result-count">
              {results.length} match{results.length === 1 ? '' : 'es'}
            </p>
            <ul>
              {results.slice(0, 100).map((e) => (
                <li key={objectKey(e)} data-endpoint={`${e.metadata.tenant}/${e.metadata.name}`} onClick={() => open(e)}>
                  {e.metadata.tenant}/{e.metadata.name} <span class="hint">{endpointAddresses(e).join(' ')}</span>
                </li>
              ))}
            </ul>
          </div>
        )}
        {picked && (
          <div class="picked">
            <h4>
              {picked.metadata.tenant}/{picked.metadata.name}
            </h4>
            <p>{summary(picked)}</p>
            <p class="hint">
              {Object.entries(picked.metadata.labels ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}
            </p>
          </div>
        )}
      </aside>
    </div>
  );
}

/**
 * Name rules. Every name that may end up in a kernel object name, a file path or
 * an nft program passes one of these patterns first, so no shell or nft
 * metacharacter can ever reach those places.
 */

/** DNS-1123 label: lower-case alphanumerics and '-', 1..63 characters. */
export const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const NAME_REGEX = new RegExp(NAME_PATTERN);

/**
 * Label keys, as in Kubernetes: an optional prefix (a DNS subdomain of at most 253 characters, each
 * label at most 63) and '/', then a name of at most 63 characters. The lookahead bounds the prefix,
 * which a plain regular expression of repeated labels cannot.
 */
export const LABEL_KEY_PATTERN =
  '^((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** Prefix (253) + '/' + name (63): what LABEL_KEY_PATTERN can match at most. */
export const LABEL_KEY_MAX_LENGTH = 317;
export const LABEL_KEY_REGEX = new RegExp(LABEL_KEY_PATTERN);

/** Label values: empty, or up to 63 alphanumerics with '-', '_', '.' inside. */
/**
 * Annotation keys: a looser charset than label keys (the Docker driver keeps its bindings under
 * `docker.tenet.dev/network.<64-hex id>`), at most 253 characters. The length is in the pattern because
 * a record's key schema only contributes its pattern to the JSON schema.
 */
export const ANNOTATION_KEY_PATTERN = '^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$';

export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
export const LABEL_VALUE_REGEX = new RegExp(LABEL_VALUE_PATTERN);

/** Container ids as runtimes send them (docker/podman hex ids, CNI test ids). */
export const CONTAINER_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$';
export const CONTAINER_ID_REGEX = new RegExp(CONTAINER_ID_PATTERN);

/**
 * Which attach client made an endpoint: a client kind, optionally with the client's own name for its
 * network (`cni/<network configuration name>`, `docker`, `lab`).
 */
export const ATTACHED_BY_PATTERN = '^[a-z]{1,16}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,199})?$';
export const ATTACHED_BY_REGEX = new RegExp(ATTACHED_BY_PATTERN);

/** Interface names inside a container: what Linux allows, minus anything odd. */
export const IFNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$';
export const IFNAME_REGEX = new RegExp(IFNAME_PATTERN);

export const MAC_PATTERN = '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$';
export const MAC_REGEX = new RegExp(MAC_PATTERN);

export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME_REGEX.test(value);
}

export function describeNameRule(): string {
  return 'lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';
}

/** A name as typed, shown safely in messages (quotes and control characters escaped). */
export function shown(text: string): string {
  const clean = JSON.stringify(text).slice(1, -1);
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}

/**
 * A plain textarea for YAML with a layer behind it that marks the lines the API found wrong and
 * writes each message at the end of its line: the error sits on the field it is about.
 */
import { useRef } from 'preact/hooks';
import type { FieldError } from './field-errors';

export function YamlEditor({
  value,
  onInput,
  errors,
  readOnly,
}: {
  value: string;
  onInput: (text: string) => void;
  errors: FieldError[];
  readOnly?: boolean;
}) {
  const marks = useRef<HTMLPreElement>(null);
  const gutter = useRef<HTMLPreElement>(null);
  const lines = value.split('\n');
  const byLine = new Map<number, FieldError[]>();
  for (const error of errors) if (error.line !== undefined) byLine.set(error.line, [...(byLine.get(error.line) ?? []), error]);
  return (
    <div class="yaml-editor">
      <pre class="gutter" ref={gutter} aria-hidden="true">
        {lines.map((_, i) => (
          <div key={i} class={byLine.has(i + 1) ? 'bad' : ''}>
            {i + 1}
          </div>
        ))}
      </pre>
      <div class="editor-body">
        <pre class="marks" ref={marks} aria-hidden="true">
          {lines.map((line, i) => {
            const here = byLine.get(i + 1);
            return (
              <div key={i} class={here ? 'bad' : ''}>
                <span class="text">{line || ' '}</span>
                {here?.map((e) => (
                  <span class="field-error-inline" data-field={e.field} data-line={i + 1}>
                    {'  ◀ '}
                    {e.field}: {e.message}
                  </span>
                ))}
              </div>
            );
          })}
        </pre>
        <textarea
          spellcheck={false}
          readOnly={readOnly}
          value={value}
          wrap="off"
          aria-label="YAML"
          onInput={(e) => onInput(e.currentTarget.value)}
          onScroll={(e) => {
            const top = e.currentTarget.scrollTop;
            const left = e.currentTarget.scrollLeft;
            if (marks.current) {
              marks.current.scrollTop = top;
              marks.current.scrollLeft = left;
            }
            if (gutter.current) gutter.current.scrollTop = top;
          }}
        />
      </div>
    </div>
  );
}

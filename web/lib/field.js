// An input edited in place, for values that live on the server and arrive or change under the
// page (a people list loading late, a live frame re-rendering a board): Preact sets an input's
// `value` from its props on every render, so an input fed only by the server's value loses what
// is being typed whenever anything re-renders. What is typed is kept in state instead, saved
// when the field is left, and the stored value comes back only while nobody is editing it.

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./html.js";

export function FieldInPlace({ value, onSave, ...attributes }) {
  const [text, setText] = useState(value);
  const editing = useRef(false);
  useEffect(() => {
    if (!editing.current) setText(value);
  }, [value]);
  return html`<input ...${attributes} value=${text}
    onFocus=${() => (editing.current = true)}
    onInput=${(event) => setText(event.target.value)}
    onChange=${(event) => onSave(event.target.value)}
    onBlur=${() => (editing.current = false)} />`;
}

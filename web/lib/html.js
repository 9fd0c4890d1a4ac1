// `html`: htm bound to Preact's `h`, the one way every module writes markup (no build step, so no
// JSX).

import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);

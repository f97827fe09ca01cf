// A tiny element builder: the app's views are plain DOM, with no framework.
type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | boolean | undefined | EventListener>;

/** `h('button', { 'data-testid': 'x', onclick: fn }, 'Label')`. Text is always set as text, never HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

/** Shows `message` in an alert area (empty hides it). */
export function showError(area: HTMLElement, message: string | undefined): void {
  area.textContent = message ?? '';
  area.hidden = !message;
}

/** Disables a form's controls while `work` runs. */
export async function busy<T>(form: HTMLFormElement, work: () => Promise<T>): Promise<T> {
  const controls = [...form.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement>('input, button, select')];
  for (const control of controls) control.disabled = true;
  try {
    return await work();
  } finally {
    for (const control of controls) control.disabled = false;
  }
}

'use client';
import { useEffect, useRef, type FormEvent, type ReactNode } from 'react';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  explanation?: string;
  confirmLabel: string;
  pending: boolean;
  error: string | null;
  onConfirm: (form: FormData) => void;
  onClose: () => void;
  /** Fields the person fills in before confirming; their values reach `onConfirm` in the form data. */
  children?: ReactNode;
}

/** A modal that asks before something irreversible happens. Escape or Cancel closes it without acting. */
export function ConfirmDialog({ open, title, explanation, confirmLabel, pending, error, onConfirm, onClose, children }: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onConfirm(new FormData(event.currentTarget));
  }

  return (
    <dialog ref={ref} aria-label={title} onClose={onClose}>
      {open && (
        <form className="stack" onSubmit={submit}>
          <h2 style={{ margin: 0 }}>{title}</h2>
          {explanation && <p style={{ margin: 0 }}>{explanation}</p>}
          {children}
          {error && <p role="alert" className="error">{error}</p>}
          <div className="row">
            <button type="submit" className="button danger" disabled={pending}>
              {confirmLabel}
            </button>
            <button type="button" className="button secondary" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

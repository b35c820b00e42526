'use client';
import { useEffect, useRef, type FormEvent } from 'react';

/**
 * A modal that asks why before something irreversible happens (rollback, abort, reject, breaker override).
 * Escape or Cancel closes it without acting.
 */
export function ReasonDialog({
  open,
  title,
  explanation,
  confirmLabel,
  pending,
  error,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  explanation?: string;
  confirmLabel: string;
  pending: boolean;
  error: string | null;
  onConfirm: (reason: string) => void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onConfirm(String(new FormData(event.currentTarget).get('reason')).trim());
  }

  return (
    <dialog ref={ref} aria-label={title} onClose={onClose}>
      {open && (
        <form className="stack" onSubmit={submit}>
          <h2 style={{ margin: 0 }}>{title}</h2>
          {explanation && <p style={{ margin: 0 }}>{explanation}</p>}
          <label>
            Reason
            <textarea name="reason" rows={3} required minLength={3} autoFocus />
          </label>
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

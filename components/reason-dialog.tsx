'use client';
import { ConfirmDialog, type ConfirmDialogProps } from '@/components/confirm-dialog';

/** A confirmation that asks why before something irreversible happens (rollback, abort, reject, breaker override). */
export function ReasonDialog({ onConfirm, ...dialog }: Omit<ConfirmDialogProps, 'onConfirm' | 'children'> & { onConfirm: (reason: string) => void }) {
  return (
    <ConfirmDialog {...dialog} onConfirm={(form) => onConfirm(String(form.get('reason')).trim())}>
      <label>
        Reason
        <textarea name="reason" rows={3} required minLength={3} autoFocus />
      </label>
    </ConfirmDialog>
  );
}

// A key fingerprint (SM3 of the SubjectPublicKeyInfo), shortened for tables, full text on hover and for copy.
export function Fingerprint({ value }: { value: string }) {
  const short = value.match(/.{1,4}/g)?.slice(0, 4).join(' ') ?? value;
  return (
    <span className="fp" title={value} aria-label={`fingerprint ${value}`}>
      {short}…
    </span>
  );
}

// A pictogram per posture class, drawn in currentColor so it follows the card's colour. SVG rather
// than emoji: the same figure on every device, and no colour-emoji font needed on the watch's phone.
const HEAD = { fill: 'currentColor', stroke: 'none' } as const;

function figure(i: number | null) {
  switch (i) {
    case 0: // Downstairs: steps going down to the right, arrow down
      return (
        <>
          <path d="M4 16h10v9h10v9h10v9h10" strokeWidth={3} />
          <path d="M24 5l16 16M40 11v10H30" />
        </>
      );
    case 1: // Upstairs: steps going up to the right, arrow up
      return (
        <>
          <path d="M4 43h10v-9h10v-9h10v-9h10" strokeWidth={3} />
          <path d="M7 25L23 9M13 9h10v10" />
        </>
      );
    case 2: // Running: leaning forward, long stride, speed lines
      return (
        <>
          <circle cx="31" cy="7" r="4.5" {...HEAD} />
          <path d="M29 13l-6 14M23 27l9 6-1 10M23 27l-7 6-8-1M28 16l8 5M27 16l-8 2" />
          <path d="M3 14h8M2 21h7" strokeWidth={2.5} />
        </>
      );
    case 3: // Sitting on a chair
      return (
        <>
          <circle cx="21" cy="8" r="4.5" {...HEAD} />
          <path d="M21 14v15h12v13M21 18l8 7" />
          <path d="M12 18v26M12 33h14M26 33v11" strokeWidth={2.5} />
        </>
      );
    case 4: // Standing
      return (
        <>
          <circle cx="24" cy="7" r="4.5" {...HEAD} />
          <path d="M24 13v17M24 30l-5 14M24 30l5 14M24 16l-7 10M24 16l7 10" />
        </>
      );
    case 5: // Walking: a stride, arms swinging
      return (
        <>
          <circle cx="26" cy="7" r="4.5" {...HEAD} />
          <path d="M25 13l-2 16M23 29l-7 14M23 29l8 14M25 16l-7 8M25 16l7 6" />
        </>
      );
    case 6: // Lying on a bed
      return (
        <>
          <circle cx="10" cy="26" r="4.5" {...HEAD} />
          <path d="M16 28h24M24 28l6-5" />
          <path d="M4 34h40M4 34v8M44 34v8" strokeWidth={3} />
        </>
      );
    case 7: // Fall: a figure toppling to the ground, impact marks
      return (
        <>
          <circle cx="35" cy="13" r="4.5" {...HEAD} />
          <path d="M31 18L20 31M20 31l-11-3M20 31l-5 10M29 21l8 7M29 21l-6-7" />
          <path d="M4 45h40M40 33l5-4M41 39h6" strokeWidth={2.5} />
        </>
      );
    default: // Not known: a dashed circle, like the status card's unknown level
      return <circle cx="24" cy="24" r="19" strokeWidth={3} strokeDasharray="6 5" />;
  }
}

export function PostureIcon({ posture, size = 48 }: { posture: number | null; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 48 48"
      aria-hidden="true"
      focusable="false"
      fill="none"
      stroke="currentColor"
      strokeWidth={3.5}
      strokeLinecap="round"
      strokeLinejoin="round"
      className="posture-icon"
      data-posture={posture ?? 'unknown'}
    >
      {figure(posture)}
    </svg>
  );
}

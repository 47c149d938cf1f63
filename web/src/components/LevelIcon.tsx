import type { Level } from '../api/types';

/**
 * A shape per level, so status never depends on colour alone. The shape is drawn in currentColor, the
 * tick or "!" inside it in --icon-glyph (white; black in high contrast, where the shapes are light).
 */
export function LevelIcon({ level, size = 48 }: { level: Level | 'unknown'; size?: number }) {
  const common = { width: size, height: size, viewBox: '0 0 48 48', 'aria-hidden': true, focusable: false } as const;
  switch (level) {
    case 'normal':
      return (
        <svg {...common}>
          <circle cx="24" cy="24" r="21" fill="currentColor" />
          <path d="M14 25l7 7 14-15" fill="none" stroke="#fff" className="level-glyph-line" strokeWidth="5" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      );
    case 'caution':
      return (
        <svg {...common}>
          <path d="M24 4L45 42H3z" fill="currentColor" strokeLinejoin="round" />
          <rect x="21.5" y="16" width="5" height="14" rx="2" fill="#fff" className="level-glyph" />
          <circle cx="24" cy="36" r="3" fill="#fff" className="level-glyph" />
        </svg>
      );
    case 'danger':
      return (
        <svg {...common}>
          <path d="M15 3h18l12 12v18L33 45H15L3 33V15z" fill="currentColor" />
          <rect x="21.5" y="11" width="5" height="18" rx="2" fill="#fff" className="level-glyph" />
          <circle cx="24" cy="35.5" r="3.2" fill="#fff" className="level-glyph" />
        </svg>
      );
    default:
      return (
        <svg {...common}>
          <circle cx="24" cy="24" r="20" fill="none" stroke="currentColor" strokeWidth="4" strokeDasharray="6 5" />
        </svg>
      );
  }
}

/** Tailwind 3 (npm, offline once installed). Build: `npm run build:css` -> dashboard/static/dashboard/app.css (committed). */
module.exports = {
  content: [
    "./templates/**/*.html",
    "./dashboard/templates/**/*.html",
    "./dashboard/static/dashboard/*.js",
    "./dashboard/templatetags/*.py",
  ],
  theme: {
    extend: {
      keyframes: {
        "slide-in": {
          "0%": { opacity: "0", transform: "translateY(-0.75rem)", backgroundColor: "rgb(16 185 129 / 0.25)" },
          "60%": { opacity: "1", transform: "translateY(0)" },
          "100%": { backgroundColor: "transparent" },
        },
      },
      animation: { "slide-in": "slide-in 1.2s ease-out" },
    },
  },
  plugins: [],
};

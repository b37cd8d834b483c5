"""Varied synthetic screenshots: the kinds of screens customers send (issue 13, part D).

`render.render_screen` draws one clean panel of intent text. Customers send a phone or desktop
app (a shop page, an order page, a bank app, an e-mail client, a chat, settings, a dialog over a
page) in a light or dark theme, the text that matters one card among menus, products,
transactions and other mails; often annotated (a box, a circle, an arrow, a highlight, a
scribbled "??"), cropped to a part, rescaled, blurred, noisy and JPEG-compressed.
`render_varied` draws those with the one renderer's Canvas (engine.vision.render), every line
kept as a truth block; engine.vision.render_marks marks, crops and damages them.
Every choice comes from `rng`: the same rng, the same pixels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from engine.vision import screen_words as words
from engine.vision.render import Canvas, RenderedScreen, bold_of, font, screen_values, wrap
from engine.vision.render_marks import Box, annotate, crop, damage, overlaps, reading_order
from engine.vision.screen_text import UI_TEXT

# training faces and faces only the test split uses (fonts-dejavu-core and -extra)
VARIED_TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSansCondensed.ttf", "DejaVuSansMono.ttf",
                      "DejaVuSans-ExtraLight.ttf", "DejaVuSans-Oblique.ttf")
VARIED_TEST_FONTS = ("DejaVuSerif.ttf", "DejaVuSerifCondensed.ttf")
UI_APPS = ("shop", "order", "bank", "settings", "email", "dialog")
MESSAGE_APPS = ("chat", "email", "form", "social")
ACCENTS = [(30, 100, 220), (200, 40, 60), (20, 140, 90), (120, 60, 200), (230, 120, 20),
           (0, 130, 150)]
ACCOUNT_MENU = ["Overview", "My purchases", "Wallet", "Saved addresses", "Profile",
                "Notifications", "Log out"]
Colour = tuple[int, int, int]


@dataclass
class Theme:
    dark: bool
    background: Colour
    surface: Colour
    ink: Colour
    muted: Colour
    accent: Colour


def pick_theme(rng: random.Random) -> Theme:
    """A light or (a third of the time) dark theme with an accent colour."""
    accent = rng.choice(ACCENTS)
    if rng.random() < 0.35:
        base = rng.randint(14, 40)
        return Theme(True, (base, base, base + 6), (base + 18, base + 18, base + 22),
                     (rng.randint(220, 250),) * 3, (rng.randint(140, 170),) * 3, accent)
    tint = rng.randint(236, 255)
    surface = (255, 255, 255) if rng.random() < 0.6 else (246, 246, 248)
    return Theme(False, (tint, tint, min(255, tint + 4)), surface, (rng.randint(15, 50),) * 3,
                 (rng.randint(95, 130),) * 3, accent)


class Page:
    """A screen being drawn: its canvas, theme and faces, and the box of the telling text."""

    def __init__(self, rng: random.Random, size: tuple[int, int], theme: Theme, face: str,
                 px: int) -> None:
        self.rng, self.theme, self.px = rng, theme, px
        self.canvas = Canvas(size, theme.background)
        self.w, self.h = size
        self.bottom = self.h - 4  # lines below are not drawn (a tab bar may raise it)
        self.body, self.small = font(face, px), font(face, max(10, px - 3))
        self.bold = font(bold_of(face), px + 3)
        self.telling: Box | None = None
        self.telling_lines: list[Box] = []

    @property
    def draw(self) -> ImageDraw.ImageDraw:
        return self.canvas.draw

    def put(self, x: int, y: int, text: str, face=None, fill: Colour | None = None) -> int:
        """One line, shortened to the screen's width; skipped below the bottom. Its bottom y."""
        face = face or self.body
        while text and self.draw.textlength(text, font=face) > self.w - x - 6:
            text = text.rsplit(" ", 1)[0] if " " in text else text[:-1]
        height = self.draw.textbbox((x, y), "Ag", font=face)[3]
        if not text.strip() or height > self.bottom:
            return height
        return self.canvas.text((x, y), text, face, fill or self.theme.ink)

    def para(self, x: int, y: int, text: str, width: int, face=None,
             fill: Colour | None = None, gap: int = 5) -> int:
        for line in wrap(self.draw, text, face or self.body, width):
            y = self.put(x, y, line, face, fill) + gap
        return y

    def box(self, xy: Box, fill: Colour | None = None, outline: Colour | None = None,
            radius: int = 8, width: int = 1) -> None:
        self.draw.rounded_rectangle(xy, radius=radius, fill=fill, outline=outline, width=width)

    def card(self, x: int, y: int, width: int, heading: str, lines: list[str],
             fill: Colour | None = None, ink: Colour | None = None) -> int:
        """The telling text: a heading and lines on a card (its box remembered); the y below."""
        rows = [(heading, self.bold)] + [(part, self.body) for line in lines
                                         for part in wrap(self.draw, line, self.body, width - 24)]
        height = sum(self.draw.textbbox((0, 0), "Ag", font=f)[3] + 7 for _, f in rows) + 20
        top = min(y, max(8, self.bottom - height - 8))
        border = self.theme.accent if self.rng.random() < 0.5 else (200, 40, 40)
        self.box((x, top, x + width, top + height), fill or self.theme.surface,
                 border if self.rng.random() < 0.6 else None, width=2)
        y, first = top + 12, len(self.canvas.blocks)
        for text, face in rows:
            y = self.put(x + 12, y, text, face, ink) + 7
        self.telling = (x, top, x + width, top + height)
        w, h = self.canvas.image.size
        self.telling_lines = [(int(b.box[0] * w), int(b.box[1] * h), int(b.box[2] * w),
                               int(b.box[3] * h)) for b in self.canvas.blocks[first:]]
        return top + height + 14


# -- chrome -----------------------------------------------------------------------------------
def desktop_chrome(p: Page, shop: str, app: str) -> tuple[int, int, int]:
    """A browser bar, a site header with categories, maybe a sidebar: (x, y, width) left."""
    rng, t, y = p.rng, p.theme, 0
    slug = shop.lower().replace(" & ", "").replace(" ", "")
    if rng.random() < 0.5:
        shade = tuple(max(0, c - 16) for c in t.background)
        p.draw.rectangle((0, 0, p.w, 2 * p.px + 30), fill=shade)
        p.put(16, 6, f"{shop} - {app.title()}", p.small, t.muted)
        p.box((12, p.px + 12, int(p.w * 0.6), 2 * p.px + 24), t.surface)
        p.put(24, p.px + 14, f"https://www.{slug}.com/{app}", p.small, t.muted)
        y = 2 * p.px + 32
    header = 2 * p.px + 18
    on_accent = rng.random() < 0.4
    if on_accent:
        p.draw.rectangle((0, y, p.w, y + header), fill=t.accent)
    ink = (250, 250, 250) if on_accent else t.ink
    p.put(20, y + 10, shop, p.bold, ink)
    x = 60 + int(p.draw.textlength(shop, font=p.bold))
    for word in rng.sample(words.CATEGORIES, rng.randint(3, 7)):
        p.put(x, y + 12, word, p.body, ink)
        x += int(p.draw.textlength(word, font=p.body)) + rng.randint(18, 36)
    x = p.w - 20
    for word in rng.sample(words.HEADER_WORDS, rng.randint(1, 3)):
        x -= int(p.draw.textlength(word, font=p.small)) + 24
        p.put(x, y + 14, word, p.small, ink)
    y += header + 16
    left = 24
    if app in ("email", "bank", "settings") or rng.random() < 0.4:
        menu = {"email": words.FOLDERS, "bank": words.BANK_WORDS,
                "settings": words.SETTINGS}.get(app, ACCOUNT_MENU)
        side = y
        for word in rng.sample(menu, min(len(menu), rng.randint(4, 7))):
            side = p.put(24, side, word, p.body, t.muted) + p.px
        left = rng.randint(190, 250)
    return left, y, min(p.w - left - 30, rng.randint(520, 900))


def phone_chrome(p: Page, title: str) -> tuple[int, int, int]:
    """A status bar, an app bar, maybe a bottom tab bar: (x, y, width) left."""
    rng, t = p.rng, p.theme
    p.put(18, 6, f"{rng.randint(6, 23)}:{rng.randint(0, 59):02d}", p.small)
    p.put(p.w - 100, 6, f"{rng.choice(['5G', 'LTE', '4G'])} {rng.randint(12, 99)}%", p.small)
    y = p.px + 14
    bar = 2 * p.px + 14
    on_accent = rng.random() < 0.5
    if on_accent:
        p.draw.rectangle((0, y, p.w, y + bar), fill=t.accent)
    ink = (250, 250, 250) if on_accent else t.ink
    p.put(16, y + 8, "<", p.bold, ink)
    p.put(44, y + 8, title, p.bold, ink)
    if rng.random() < 0.5:
        p.bottom = p.h - 2 * p.px - 18
        p.draw.line((0, p.bottom + 4, p.w, p.bottom + 4), fill=t.muted)
        tabs = rng.sample(words.TABS, 4)
        for i, tab in enumerate(tabs):
            p.canvas.text((12 + i * (p.w // 4), p.bottom + 12), tab, p.small, t.muted)
    return 14, y + bar + 14, p.w - 28


# -- what surrounds the telling text ----------------------------------------------------------
def filler(p: Page, app: str, x: int, y: int, width: int, values: dict[str, str]) -> int:
    """One section of an app's ordinary content; the y below it."""
    rng, t = p.rng, p.theme
    money = values["amount"][0] if values["amount"][0] in "$£" else "EUR "
    if app in ("shop", "dialog"):
        for name in rng.sample(words.PRODUCTS, rng.randint(1, 3)):
            y = p.put(x, y, name) + 3
            y = p.put(x, y, f"{money}{rng.randint(4, 300)}.{rng.choice(['00', '99', '50'])}",
                      p.small, t.muted) + p.px
        if rng.random() < 0.5:
            y = p.put(x, y, rng.choice(words.PROMOS), p.small, t.accent) + p.px
    elif app == "order":
        y = p.put(x, y, f"Order #{values['order']}", p.bold) + 4
        y = p.put(x, y, f"Placed {values['date']}", p.small, t.muted) + p.px
        for name in rng.sample(words.PRODUCTS, rng.randint(1, 3)):
            p.put(x + width - 140, y, f"Qty {rng.randint(1, 3)}", p.small, t.muted)
            y = p.put(x, y, name) + p.px // 2 + 4
    elif app == "bank":
        y = p.put(x, y, rng.choice(words.BANK_WORDS), p.small, t.muted) + 2
        y = p.put(x, y, f"{money}{rng.randint(100, 9000):,}.{rng.randint(0, 99):02d}",
                  p.bold) + p.px
        for merchant in rng.sample(words.MERCHANTS, rng.randint(2, 5)):
            sign = "+" if merchant == "Salary" else "-"
            cents = f"{rng.randint(0, 99):02d}"
            p.put(x + width - 130, y, f"{sign}{money}{rng.randint(2, 200)}.{cents}")
            y = p.put(x, y, merchant) + 2
            y = p.put(x, y, f"{rng.randint(1, 28)} {rng.choice(['Oct', 'Nov', 'Dec'])}",
                      p.small, t.muted) + p.px // 2 + 2
    elif app == "email":
        for _ in range(rng.randint(2, 4)):
            p.put(x + width - 70, y, f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}", p.small)
            y = p.put(x, y, rng.choice(words.SENDERS), p.bold) + 2
            y = p.put(x, y, rng.choice(words.SUBJECTS), p.small, t.muted) + p.px
    elif app == "chat":
        for line in rng.sample(words.CHAT_OTHER, rng.randint(1, 2)):
            y = bubble(p, x, y, width, line, mine=False)
    elif app == "settings":
        for word in rng.sample(words.SETTINGS, rng.randint(2, 4)):
            y = p.put(x, y, word) + p.px
    else:  # a contact form's or a public post's page
        for line in rng.sample(words.PROMOS + words.FOOTER, rng.randint(1, 3)):
            y = p.put(x, y, line, p.small, t.muted) + p.px
    return y + p.px // 2


def bubble(p: Page, x: int, y: int, width: int, text: str, mine: bool) -> int:
    """A chat bubble (the customer's on the right, in the accent colour); the y below."""
    face = p.body
    lines = wrap(p.draw, text, face, int(width * 0.7) - 24)
    line_h = p.draw.textbbox((0, 0), "Ag", font=face)[3] + 5
    wide = max(int(p.draw.textlength(line, font=face)) for line in lines) + 24
    left = x + width - wide if mine else x
    height = line_h * len(lines) + 14
    if y + height > p.bottom:
        return y
    fill = p.theme.accent if mine else tuple(min(255, c + 14) for c in p.theme.surface)
    p.box((left, y, left + wide, y + height), fill, radius=14)
    ink = (250, 250, 250) if mine else p.theme.ink
    for i, line in enumerate(lines):
        p.put(left + 12, y + 7 + i * line_h, line, face, ink)
    return y + height + p.px


def telling_message(p: Page, app: str, x: int, y: int, width: int, utterance: str,
                    values: dict[str, str], shop: str) -> int:
    """The customer's own message in a chat, an e-mail, a contact form or a public post."""
    rng, t = p.rng, p.theme
    first = len(p.canvas.blocks)
    if app == "chat":
        top = y
        y = bubble(p, x, y, width, utterance, mine=True)
    elif app == "email":
        y = p.put(x, y, f"To: support@{shop.lower().replace(' ', '')}.com", p.small, t.muted) + 4
        y = p.put(x, y, f"From: {values['email']}", p.small, t.muted) + 4
        y = p.put(x, y, rng.choice(["Question", "Help please", "Hello", "(no subject)",
                                    "Urgent"]), p.bold) + p.px
        top = y
        y = p.para(x, y, utterance, width) + p.px
    elif app == "form":
        for label in ("Name", f"Email: {values['email']}"):
            y = p.put(x, y, label, p.small, t.muted) + p.px
        top = y
        p.box((x, y - 6, x + width, y + 4 * p.px + 40), t.surface, t.muted)
        y = p.para(x + 10, y + 4, utterance, width - 20) + 3 * p.px
        y = p.put(x + width - 90, y, "Send", p.bold, t.accent) + p.px
    else:  # social
        y = p.put(x, y, f"@{values['email'].split('@')[0]} · {rng.randint(1, 9)}h", p.small,
                  t.muted) + 4
        top = y
        y = p.para(x, y, f"@{shop.replace(' ', '')} {utterance}", width) + 6
        y = p.put(x, y, "Reply   Share   Like", p.small, t.muted) + p.px
    p.telling = (x, top - 6, x + width, y)
    w, h = p.canvas.image.size
    p.telling_lines = [(int(b.box[0] * w), int(b.box[1] * h), int(b.box[2] * w),
                        int(b.box[3] * h)) for b in p.canvas.blocks[first:]]
    return y


def render_varied(rng: random.Random, intent: str, utterance: str | None,
                  fonts: tuple[str, ...]) -> RenderedScreen:
    """A varied screenshot showing `utterance` as the customer's message, or intent UI text
    (UI_TEXT and words.UI_TEXT_MORE) if None, drawn, marked, cropped and damaged."""
    values = screen_values(rng)
    phone = rng.random() < 0.45
    size = ((rng.randint(360, 430), rng.randint(680, 900)) if phone
            else (rng.randint(1000, 1600), rng.randint(620, 1000)))
    px = rng.randint(13, 18) if phone else rng.randint(12, 20)
    p = Page(rng, size, pick_theme(rng), rng.choice(fonts), px)
    shop = rng.choice(words.SHOPS)
    app = rng.choice(MESSAGE_APPS if utterance is not None else UI_APPS)
    x, y, width = (phone_chrome(p, shop if app in ("shop", "dialog") else app.title()) if phone
                   else desktop_chrome(p, shop, app))
    for _ in range(rng.randint(0, 2)):
        y = filler(p, app, x, y, width, values)
    if utterance is not None:
        y = telling_message(p, app, x, y, width, utterance, values, shop)
    else:
        heading, lines = rng.choice(UI_TEXT[intent] + words.UI_TEXT_MORE.get(intent, []))
        heading, lines = heading.format(**values), [line.format(**values) for line in lines]
        if app == "dialog":  # the page first, dimmed, the dialog over it hides what it covers
            for _ in range(rng.randint(1, 3)):
                y = filler(p, "shop", x, y, width, values)
            p.canvas.image = Image.blend(p.canvas.image, Image.new("RGB", size, (0, 0, 0)),
                                         rng.uniform(0.2, 0.5))
            p.canvas.draw = ImageDraw.Draw(p.canvas.image)
            wide = min(p.w - 40, rng.randint(320, 560))
            left, top = (p.w - wide) // 2, rng.randint(p.h // 5, p.h // 3)
            under = len(p.canvas.blocks)
            end = p.card(left, top, wide, heading, lines, p.theme.surface)
            p.canvas.blocks[:under] = [b for b in p.canvas.blocks[:under]
                                       if not overlaps(b, p.telling, p.w, p.h)]
            p.put(left + wide - 90, end - 8, rng.choice(["OK", "Close", "Retry"]), p.bold,
                  p.theme.accent)
        else:
            if app == "email":  # the shop's own e-mail, opened
                y = p.put(x, y, f"From: {shop} <no-reply@{shop.split()[0].lower()}.com>",
                          p.small, p.theme.muted) + p.px
            y = p.card(x, y, width, heading, lines)
    for _ in range(0 if app == "dialog" else rng.randint(0, 3)):
        y = filler(p, app, x, y, width, values)
    if app == "chat":
        p.put(x + 8, p.bottom - p.px - 14, rng.choice(words.CHAT_WORDS[-2:]), p.small,
              p.theme.muted)
    elif not phone and rng.random() < 0.5:
        p.put(x, p.bottom - p.px - 8, "   ".join(rng.sample(words.FOOTER, 4)), p.small,
              p.theme.muted)
    if rng.random() < 0.35:
        annotate(p)
    if rng.random() < 0.3:
        image, blocks = crop(p)
    else:
        image, blocks = p.canvas.image, list(p.canvas.blocks)
    blocks = reading_order(blocks, (px * 0.8) / image.height)
    device = "phone" if phone else "desktop"
    return RenderedScreen(damage(rng, image), blocks, f"varied-{app}-{device}")

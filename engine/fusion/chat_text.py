"""Turn text we wrote for the synthetic cases (engine.fusion.synthetic), as screen_text.py is
for their screens: what customers type beside a screenshot, agents' turns, entity turns and
vague follow-ups. Intents come from Bitext; this text only surrounds them."""

from __future__ import annotations

# typed beside a screenshot: vague, or naming only the Bitext category
VAGUE_WITH_IMAGE = [
    "can you help me with this?", "what does this mean", "see screenshot", "??", "help pls",
    "this keeps happening", "I got this", "look at this", "what now?", "any idea?",
    "this is what I see", "hi, this came up", "is this normal?", "see attached",
]
CATEGORY_HINTS = {
    "ORDER": ["it's about my order", "order problem, see pic"],
    "REFUND": ["about my refund", "refund question, screenshot attached"],
    "ACCOUNT": ["account trouble", "my account, see this"],
    "PAYMENT": ["payment thing", "about paying, see screen"],
    "INVOICE": ["about the invoice", "invoice question"],
    "DELIVERY": ["delivery question", "about the delivery"],
    "SHIPPING_ADDRESS": ["about the address", "shipping address thing"],
    "CONTACT": ["I need to reach you", "how do I get in touch"],
    "FEEDBACK": ["some feedback", "about your service"],
    "NEWSLETTER": ["about the emails you send", "newsletter"],
    "CANCELLATION_FEE": ["about cancelling", "cancellation question"],
}
# conversations: the last customer turn says nothing of the intent itself
VAGUE_FOLLOW_UPS = [
    "still nothing?", "any update?", "so?", "hello??", "it's been 3 days", "and?",
    "nothing happened yet", "still waiting", "any news", "ok and now?", "did you check?",
    "it still doesn't work", "how long will it take", "yes that one", "same problem",
]
AGENT_TURNS = [
    "Thanks for reaching out, I'm happy to help.", "Could you share your order number?",
    "Let me check that for you.", "One moment please while I look into it.",
    "Can you confirm the email on the account?", "Thanks, I have pulled up your account.",
    "I have escalated this to the team.", "Is there anything else I can help with?",
]
ENTITY_TURNS = [
    "it's order {order}", "order number {order}", "my email is {email}",
    "the amount was {amount}", "{order}", "it was on {date}",
]
CLOSERS = ["ok thanks, that's sorted", "great, thank you", "perfect, that worked"]
OPENERS = ["hi", "hello", "hey there", "good morning", "hi, quick question", "hello?"]
AGENT_GREETINGS = ["Hello! How can I help you today?", "Hi, thanks for contacting us.",
                   "Good morning, what can I do for you?"]
SHORT_YES = ["yes", "yes please", "yeah", "sure", "ok", "please do", "yes go ahead", "yep",
             "ok do it", "that would be great", "yes thanks", "go on then"]

"""Words we wrote for the varied synthetic screens (engine.vision.render_styles): a second UI
text per intent, and what surrounds it on real screens (shop names, menus, products, bank
transactions, other e-mails, chat chatter). Written from the intent definitions and ordinary
shop, bank, mail and chat apps; none of it is taken from an evaluation set."""

from __future__ import annotations

# A second screen per intent (engine.vision.screen_text.UI_TEXT has the first): a title and
# body lines, {order}, {amount}, ... filled in as there.
UI_TEXT_MORE: dict[str, list[tuple[str, list[str]]]] = {
    "cancel_order": [("Order #{order}", ["Cancel items", "Reason for cancelling:",
                                         "Changed my mind", "Confirm cancellation"])],
    "change_order": [("Modify your order", ["Size M -> L", "Colour: blue -> black",
                                            "Update items in order #{order}"])],
    "place_order": [("Your basket (2)", ["Subtotal {amount}", "Proceed to checkout",
                                         "Buy now"])],
    "track_order": [("Where is my parcel?", ["Out for delivery", "Last update {date}",
                                             "Track package {tracking}"])],
    "check_cancellation_fee": [("Cancel subscription", ["A cancellation charge of {amount} "
                                                        "applies", "Fee if you cancel now"])],
    "get_refund": [("Request a refund", ["Select the items to refund",
                                         "Refund to original payment: {amount}"])],
    "track_refund": [("Refund #{code}", ["Refund issued {date}", "Expected in your account "
                                         "in 5-10 days", "Refund tracking"])],
    "check_refund_policy": [("Refund policy", ["Refunds within 14 days of delivery",
                                               "Conditions for a refund", "Exceptions"])],
    "payment_issue": [("Payment failed", ["Charged twice for order #{order}",
                                          "{amount} pending on your card", "Retry payment"])],
    "check_payment_methods": [("How would you like to pay?", ["Credit or debit card",
                                                              "Pay later in 3 instalments",
                                                              "Gift card"])],
    "check_invoice": [("Bill {invoice}", ["Item total {amount}", "VAT 20%",
                                          "Amount billed {amount}"])],
    "get_invoice": [("Documents", ["Download invoice (PDF)", "Receipt for order #{order}",
                                   "Invoice copy"])],
    "create_account": [("Join us", ["New customer? Register now", "Create account",
                                    "Already a member? Sign in"])],
    "delete_account": [("Close your account", ["Your data will be removed",
                                               "This cannot be undone",
                                               "Permanently delete"])],
    "edit_account": [("Personal information", ["Phone number", "Save changes",
                                               "Edit your details"])],
    "recover_password": [("Reset your password", ["Enter your email to get a reset link",
                                                  "Too many sign-in attempts"])],
    "registration_problems": [("Create account", ["Something went wrong while signing up",
                                                  "Confirmation code invalid ({code})"])],
    "switch_account": [("Choose a profile", ["Personal", "Business",
                                             "Switch profile"])],
    "delivery_options": [("Delivery", ["Next-day delivery {amount}", "Collect from a "
                                       "pick-up point", "International shipping"])],
    "delivery_period": [("Arriving", ["Dispatch in 3-5 working days",
                                      "Expected arrival {date}", "Delivery time"])],
    "change_shipping_address": [("Deliver to", ["Address on order #{order}",
                                                 "Edit delivery address"])],
    "set_up_shipping_address": [("Address book", ["You have no saved addresses",
                                                  "Add new address"])],
    "contact_customer_service": [("Get in touch", ["Call us {code}",
                                                   "Customer service hours", "Email us"])],
    "contact_human_agent": [("Chat bot", ["Please choose one of the options",
                                          "Speak to an agent", "Request a call back"])],
    "complaint": [("Your feedback", ["Very poor service", "Staff were rude",
                                     "File a complaint"])],
    "review": [("Rate your purchase", ["Leave a review", "Tell others what you think",
                                       "Stars 4/5"])],
    "newsletter_subscription": [("Stay in the loop", ["Sign up for our newsletter",
                                                      "Manage email subscriptions"])],
}

SHOPS = ["Northwind", "Bluebird Goods", "Kestrel & Co", "Maple Market", "Urbanhaus",
         "Copperleaf", "Fernway", "Lumen Store", "Harbor Lane", "Oakridge"]
CATEGORIES = ["New in", "Women", "Men", "Kids", "Home", "Electronics", "Furniture", "Beauty",
              "Sports", "Deals", "Outlet", "Gifts", "Garden", "Books", "Toys"]
HEADER_WORDS = ["Search", "Sign in", "My account", "Cart", "Wishlist", "Stores", "Help",
                "Menu", "Basket", "Saved"]
PRODUCTS = ["Linen shirt, white", "Ceramic vase", "Wireless earbuds", "Running shoes",
            "Desk lamp, brass", "Cotton towels (2)", "Phone case", "Yoga mat", "Coffee grinder",
            "Backpack 20L", "Wool scarf", "Table lamp", "Bluetooth speaker", "Water bottle",
            "Chef's knife", "Denim jacket", "Throw pillow", "Sneakers, grey", "Teapot",
            "Reading glasses", "Travel mug", "Bath mat", "Notebook A5", "Plant pot, small"]
PROMOS = ["Spring sale: up to 40% off", "New arrivals every week", "Members get 10% off",
          "Free shipping on orders over 50", "Gift wrapping available", "Only 3 left",
          "Bestseller", "Limited edition"]
FOOTER = ["Privacy", "Terms", "Cookies", "About us", "Careers", "Sitemap", "Accessibility"]
MERCHANTS = ["Grocery Mart", "Coffee House", "City Transit", "Streamly", "Fuel Stop",
             "Pharmacy Plus", "Gym Monthly", "Corner Bakery", "Book Nook", "Salary",
             "Transfer to savings", "Electric Co", "Mobile plan", "Cinema", "Parking"]
BANK_WORDS = ["Current account", "Savings", "Available balance", "Transactions", "Statements",
              "Cards", "Payments", "Pending", "Today", "Yesterday", "This month"]
FOLDERS = ["Inbox", "Starred", "Sent", "Drafts", "Spam", "Trash", "Archive", "Snoozed"]
SUBJECTS = ["Weekly team update", "Your photos are ready", "Meeting notes", "Weekend plans?",
            "Lunch on Friday", "Flight check-in reminder", "Security alert", "Happy birthday!",
            "Project timeline", "Re: quick question", "Book club", "School trip form"]
SENDERS = ["Anna Becker", "Tom Reyes", "Priya N.", "Lukas", "Mum", "Jordan Lee", "IT Desk",
           "Sofia Marin", "Chen Wei", "Team Calendar"]
CHAT_OTHER = ["Hello, you're chatting with support", "Thanks for waiting", "One moment please",
              "Is there anything else?", "Agent joined the chat", "Let me look into it",
              "Sure, I can check", "Thanks!", "ok", "Can you send a photo?"]
CHAT_WORDS = ["Today", "Yesterday", "Online", "Seen", "Type a message...", "Send"]
SETTINGS = ["Notifications", "Language: English", "Dark mode", "Privacy", "Security",
            "Connected devices", "Help & support", "About", "Log out"]
TABS = ["Home", "Search", "Cart", "Account", "Browse", "Orders", "Profile", "Offers"]
SCRIBBLES = ["??", "this", "what?", "here", "why", "!!"]

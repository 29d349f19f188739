"""The demo menu that `python -m app seed-demo` puts in place."""

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.tables import Product, ProductCreate

DEMO_MENU = (
    ProductCreate(
        name="Margherita",
        description="Tomato, fior di latte, basil, olive oil",
        price_cents=900,
    ),
    ProductCreate(
        name="Marinara",
        description="Tomato, garlic, oregano, olive oil (no cheese)",
        price_cents=750,
    ),
    ProductCreate(
        name="Diavola",
        description="Tomato, fior di latte, spicy salami, chili",
        price_cents=1150,
    ),
    ProductCreate(
        name="Quattro Formaggi",
        description="Fior di latte, gorgonzola, fontina, parmigiano",
        price_cents=1250,
    ),
    ProductCreate(
        name="Capricciosa",
        description="Tomato, fior di latte, ham, mushrooms, artichokes, olives",
        price_cents=1300,
    ),
    ProductCreate(
        name="Funghi",
        description="Tomato, fior di latte, mushrooms",
        price_cents=1050,
    ),
    ProductCreate(
        name="Prosciutto e Rucola",
        description="Fior di latte, prosciutto crudo, rocket, parmigiano",
        price_cents=1400,
    ),
    ProductCreate(
        name="Calzone",
        description="Folded pizza: ricotta, ham, fior di latte, tomato",
        price_cents=1200,
    ),
    ProductCreate(name="Tiramisu", description="Made in house every morning", price_cents=650),
    ProductCreate(name="Panna Cotta", description="With berry coulis", price_cents=600),
    ProductCreate(name="Lemonade", description="Fresh, 40 cl", price_cents=400),
    ProductCreate(name="Sparkling Water", description="50 cl", price_cents=250),
)


async def seed_demo_menu(session: AsyncSession) -> int:
    """Add the demo products that are not on the menu yet (by name); the caller commits.

    Returns how many were added: running it again adds none and changes nothing, not even
    a product an admin has edited or taken off the menu since.
    """
    names = [product.name for product in DEMO_MENU]
    existing = set(
        await session.scalars(select(col(Product.name)).where(col(Product.name).in_(names)))
    )
    missing = [product for product in DEMO_MENU if product.name not in existing]
    # Added last-first, so that the menu (listed newest first) reads in the order above.
    session.add_all(Product.model_validate(product) for product in reversed(missing))
    await session.flush()
    return len(missing)

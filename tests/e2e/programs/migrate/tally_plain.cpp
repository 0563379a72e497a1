struct Plain {
    long first; // new: Plain is migrated, n moves
    int n;
    int bump() { return ++n; }
};

struct Tally {
    int n;
    ~Tally() { n = -1; }  // registered with atexit for the one static object
};

struct Shape {
    virtual int area() { return n; }
    int n = 0;
};

static Plain plain;
static Tally tally;
static Shape shape;

int tally_step()
{
    tally.n++;
    shape.n++;
    return plain.bump() * 1000 + tally.n * 10 + shape.area();
}
